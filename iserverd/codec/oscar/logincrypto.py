"""
The two ways an OSCAR client proves its password (oscar.md 5.2, 5.3), pure.

Roasting is a fixed XOR that hides nothing from anyone who knows the table;
the server recovers the password from it.  The MD5 exchange sends a digest over
a server-chosen key, either over the password itself ("old" hash: licq 1.3.6+,
Jimm) or over MD5(password) ("new" hash, marked by TLV 0x004C: Pidgin 2.6+,
Miranda), so the server must hold the password (or its MD5) to check it.
"""

import hashlib
import hmac

ROAST_TABLE = bytes.fromhex("F3 26 81 C4 39 86 DB 92 71 A3 B9 E6 53 7A 95 7C")

AIM_MD5_STRING = b"AOL Instant Messenger (SM)"

# The key characters sent in 17,07: printable ASCII every client accepts.
KEY_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
KEY_LENGTH = 24
MAX_KEY_LENGTH = 64  # Miranda refuses longer keys


def roast(password):
    """
    XOR each byte with the table, index i mod 16 (ambiguity 21: IServerd's
    loop read past the table for the 17th byte).  Its own inverse.
    """
    return bytes(b ^ ROAST_TABLE[i % 16] for i, b in enumerate(bytes(password)))


unroast = roast


def md5_digest(key, password, new_hash):
    """The digest a client sends in 17,02 TLV 0x0025."""
    secret = hashlib.md5(password).digest() if new_hash else bytes(password)
    return md5_digest_from(key, secret)


def md5_digest_from(key, secret):
    """MD5(key ‖ secret ‖ "AOL Instant Messenger (SM)")."""
    return hashlib.md5(bytes(key) + bytes(secret) + AIM_MD5_STRING).digest()


def md5_matches(key, digest, new_hash, password):
    """
    Check a 17,02 digest against the password: the variant the marker names
    first, then the other one (some clients mislabel; OOS accepts both).

    @param password: the plaintext password bytes.
    """
    digest = bytes(digest)
    first = md5_digest(key, password, new_hash)
    if hmac.compare_digest(first, digest):
        return True
    return hmac.compare_digest(md5_digest(key, password, not new_hash), digest)


def make_key(random_bytes):
    """
    A printable key for 17,07 from caller-supplied random bytes (one key
    character per byte; the caller draws them, so this stays pure).
    """
    random_bytes = bytes(random_bytes)[:MAX_KEY_LENGTH]
    if not random_bytes:
        raise ValueError("an MD5 key needs at least one random byte")
    # 64 characters: each byte picks one without bias.
    return bytes(KEY_ALPHABET[b & 0x3F] for b in random_bytes)

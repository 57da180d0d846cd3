"""
Salted password hashes with the standard library's PBKDF2.

v3 and v5 clients send the password itself at login, so the server only needs to
verify it; nothing ever needs the clear text back.  The cost is chosen so that a
verification takes well under a millisecond: a login storm must not starve the
reactor, while a stolen table still costs an attacker a salted KDF per guess.
"""

import base64
import hashlib
import hmac
import os
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 2500
# Hex digits of an automatically registered user's password (IServerd: 6).
NEW_PASSWORD_DIGITS = 8


def hash_password(password, iterations=ITERATIONS, salt=None):
    """
    @param password: the password as sent by clients (bytes) or text.
    @return: C{pbkdf2_sha256$iterations$salt$hash} (base64 parts).
    """
    if isinstance(password, str):
        password = password.encode("latin-1", "replace")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return "%s$%d$%s$%s" % (
        ALGORITHM,
        iterations,
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(digest).decode("ascii"),
    )


def verify_password(password, encoded):
    """
    @return: whether C{password} matches the stored C{encoded} hash; a
        malformed stored value never matches.
    """
    if isinstance(password, str):
        password = password.encode("latin-1", "replace")
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        if algorithm != ALGORITHM:
            return False
        iterations = int(iterations)
        salt = base64.b64decode(salt)
        digest = base64.b64decode(digest)
    except (ValueError, AttributeError):
        return False
    if not 1 <= iterations <= 10_000_000:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return hmac.compare_digest(candidate, digest)


def new_password():
    """A random password for an automatically registered user: upper-case hex digits."""
    return secrets.token_hex(NEW_PASSWORD_DIGITS // 2).upper().encode("ascii")

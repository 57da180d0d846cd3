"""
Sealed passwords: the reversibly encrypted copy of each password that the
OSCAR MD5 login needs.

An MD5 login proves the password with MD5(key + password + constant) or
MD5(key + MD5(password) + constant) over a fresh key, so the server has to
know the password itself; the PBKDF2 hash in C{users.password_hash} cannot
answer it.  Storing the password in the clear (what IServerd does) would hand
every password to whoever copies the database.  Instead each account gets a
copy sealed with AES-256-GCM under a key that lives in a file outside the
database (created at first start, mode 0600): a stolen database, or a backup
of it, reveals nothing without that file.  The sealed value is bound to its
UIN (associated data), so it cannot be moved to another account.  The
trade-off: whoever has both the database and the key file has every
password, as with any scheme that must answer a challenge over the password.
"""

import base64
import os
import stat

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_SIZE = 32
NONCE_SIZE = 12
KEY_FILE_NAME = "oscar.key"
_PREFIX = "aesgcm1$"
_KEY_HEADER = b"iserverd OSCAR password key v1\n"


class KeyFileError(Exception):
    """The key file cannot be used; the message is one line for the operator."""


def default_key_path(data_dir):
    return os.path.join(data_dir, KEY_FILE_NAME)


def load_key(path, create=True):
    """
    Read the key file, creating it (with a fresh random key, mode 0600) when
    it does not exist and C{create} is true.

    @raise KeyFileError: unreadable, damaged, or readable by other users.
    """
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(
                    "OSCAR key file %s is open to other users (mode %04o); chmod 600 it"
                    % (path, stat.S_IMODE(mode)))
            data = f.read(len(_KEY_HEADER) + 2 * KEY_SIZE + 2)
    except FileNotFoundError:
        if not create:
            raise KeyFileError("OSCAR key file %s does not exist" % (path,))
        return _create_key(path)
    except OSError as e:
        raise KeyFileError("cannot read OSCAR key file %s: %s" % (path, e.strerror or e))
    return _parse_key(path, data)


def _parse_key(path, data):
    if not data.startswith(_KEY_HEADER):
        raise KeyFileError("OSCAR key file %s is not an iserverd key file" % (path,))
    try:
        key = bytes.fromhex(data[len(_KEY_HEADER):].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_SIZE:
        raise KeyFileError("OSCAR key file %s is damaged (no %d-byte key)" % (path, KEY_SIZE))
    return key


def _create_key(path):
    key = os.urandom(KEY_SIZE)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(path, create=False)
    except OSError as e:
        raise KeyFileError("cannot create OSCAR key file %s: %s" % (path, e.strerror or e))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_KEY_HEADER + key.hex().encode("ascii") + b"\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise KeyFileError("cannot write OSCAR key file %s: %s" % (path, e.strerror or e))
    return key


class PasswordSealer:
    """
    Seal and unseal passwords under one key.
    """

    def __init__(self, key):
        if len(key) != KEY_SIZE:
            raise ValueError("a sealing key has %d bytes, got %d" % (KEY_SIZE, len(key)))
        self._aead = AESGCM(bytes(key))

    @staticmethod
    def _bound_to(uin):
        return b"iserverd password of %d" % (uin,)

    def seal(self, uin, password, nonce=None):
        """
        @param password: the password bytes as clients send them.
        @param nonce: for tests only; a fresh random one otherwise.
        @return: text for the C{password_sealed} column.
        """
        if isinstance(password, str):
            password = password.encode("latin-1", "replace")
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        sealed = self._aead.encrypt(nonce, bytes(password), self._bound_to(uin))
        return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def unseal(self, uin, sealed):
        """
        @return: the password bytes, or L{None} when C{sealed} is not a value
            this key sealed for this UIN (another key, another account,
            damaged or not sealed at all).
        """
        if not sealed or not sealed.startswith(_PREFIX):
            return None
        try:
            raw = base64.b64decode(sealed[len(_PREFIX):], validate=True)
        except ValueError:
            return None
        if len(raw) < NONCE_SIZE + 16:
            return None
        try:
            return self._aead.decrypt(raw[:NONCE_SIZE], raw[NONCE_SIZE:], self._bound_to(uin))
        except InvalidTag:
            return None

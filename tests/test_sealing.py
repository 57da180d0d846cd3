"""
Tests for L{iserverd.storage.sealing}: the OSCAR key file and the sealed
password copies.
"""

import os
import stat

from twisted.trial import unittest

from iserverd.storage import sealing
from iserverd.storage.sealing import KeyFileError, PasswordSealer, load_key


class KeyFileTests(unittest.TestCase):
    """
    The key file is created once with mode 0600 and read back; anything
    unusable is one clear error.
    """

    def setUp(self):
        self.folder = self.mktemp()
        self.path = os.path.join(self.folder, "data", "oscar.key")

    def test_created(self):
        """A missing key file is created (folder included), mode 0600, with a 32-byte key."""
        key = load_key(self.path)
        self.assertEqual(len(key), sealing.KEY_SIZE)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(load_key(self.path), key)

    def test_createdUnderUmask(self):
        """A permissive umask does not open the new file to others."""
        old = os.umask(0)
        try:
            load_key(self.path)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)

    def test_fresh(self):
        """Two installations get different keys."""
        other = os.path.join(self.folder, "other.key")
        self.assertNotEqual(load_key(self.path), load_key(other))

    def test_missingNotCreated(self):
        """Without create, a missing file is an error."""
        self.assertRaises(KeyFileError, load_key, self.path, create=False)

    def test_openToOthers(self):
        """A key file readable by group or others is refused, naming chmod."""
        load_key(self.path)
        os.chmod(self.path, 0o644)
        e = self.assertRaises(KeyFileError, load_key, self.path)
        self.assertIn("chmod 600", str(e))
        self.assertNotIn("\n", str(e))

    def test_damaged(self):
        """A file that is not a key file, or holds a short key, is refused."""
        os.makedirs(os.path.dirname(self.path))
        for content in (b"", b"hello", sealing._KEY_HEADER + b"abcd\n", sealing._KEY_HEADER + b"zz" * 32):
            with open(self.path, "wb") as f:
                f.write(content)
            os.chmod(self.path, 0o600)
            self.assertRaises(KeyFileError, load_key, self.path)

    def test_unreadable(self):
        """A path that cannot be read (here a folder) is one line naming it."""
        os.makedirs(self.path)
        e = self.assertRaises(KeyFileError, load_key, self.path)
        self.assertIn(self.path, str(e))
        self.assertNotIn("\n", str(e))

    def test_uncreatable(self):
        """A key file whose folder cannot exist (it is a file) is one line naming it."""
        os.makedirs(self.folder)
        with open(os.path.join(self.folder, "data"), "w"):
            pass
        e = self.assertRaises(KeyFileError, load_key, self.path)
        self.assertIn(self.path, str(e))
        self.assertNotIn("\n", str(e))


class SealerTests(unittest.TestCase):
    """
    A sealed copy gives the password back only under the same key and UIN.
    """

    key = bytes(range(32))

    def test_roundTrip(self):
        """Seal then unseal returns the password; the text holds no part of it."""
        sealer = PasswordSealer(self.key)
        sealed = sealer.seal(1001, b"secret")
        self.assertTrue(sealed.startswith("aesgcm1$"))
        self.assertNotIn("secret", sealed)
        self.assertEqual(sealer.unseal(1001, sealed), b"secret")

    def test_fresh(self):
        """Sealing the same password twice gives different texts (random nonces)."""
        sealer = PasswordSealer(self.key)
        self.assertNotEqual(sealer.seal(1001, b"pw"), sealer.seal(1001, b"pw"))

    def test_vector(self):
        """With a fixed nonce the sealed text is fixed (AES-256-GCM, UIN as associated data)."""
        sealed = PasswordSealer(self.key).seal(1001, b"secret", nonce=bytes(12))
        self.assertEqual(PasswordSealer(self.key).seal(1001, b"secret", nonce=bytes(12)), sealed)
        self.assertEqual(len(sealed), len("aesgcm1$") + 4 * ((12 + 6 + 16 + 2) // 3))

    def test_boundToUin(self):
        """A copy moved to another account does not unseal."""
        sealer = PasswordSealer(self.key)
        self.assertIsNone(sealer.unseal(1002, sealer.seal(1001, b"secret")))

    def test_otherKey(self):
        """Another key cannot unseal."""
        sealed = PasswordSealer(self.key).seal(1001, b"secret")
        self.assertIsNone(PasswordSealer(bytes(32)).unseal(1001, sealed))

    def test_garbage(self):
        """Tampered, truncated or foreign values unseal to None."""
        sealer = PasswordSealer(self.key)
        sealed = sealer.seal(1001, b"secret")
        middle = len(sealed) // 2
        flipped = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
        for value in (None, "", "secret", "aesgcm1$", "aesgcm1$!!!", sealed[:20], flipped):
            self.assertIsNone(sealer.unseal(1001, value), value)

    def test_badKey(self):
        """A key of the wrong size is a caller error."""
        self.assertRaises(ValueError, PasswordSealer, b"short")

"""
What the OSCAR codec and the password checks of an OSCAR login cost on one
core: frames split and SNACs decoded per second, and the login checks side
by side (PBKDF2 for roasted logins, unsealing + MD5 for MD5 logins).

Run: python bench/oscar_codec.py [seconds per figure]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from iserverd.codec.oscar import flap, icbm, logincrypto, snac  # noqa: E402
from iserverd.codec.oscar.wire import Tlvs  # noqa: E402
from iserverd.storage.passwords import hash_password, verify_password  # noqa: E402
from iserverd.storage.sealing import PasswordSealer  # noqa: E402


def rate(seconds, work):
    """Calls of C{work} per second, and the units it reports per call."""
    count = units = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        units += work()
        count += 1
    elapsed = time.perf_counter() - start
    return count / elapsed, units / elapsed


def main(seconds=1.0):
    message = icbm.Send(b"k" * 8, 1, b"1002", Tlvs.of(
        (icbm.TLV_MESSAGE, icbm.ChannelOneMessage(b"Hello, how are you today?").build()),
        (icbm.TLV_WANT_ACK, b""))).build()
    frame = flap.encode(flap.Frame(2, 1, snac.encode(snac.Snac(4, 6, 0, 1, message))))
    chunk = frame * 100  # what one TCP read of a busy client may hold
    splitter = flap.Splitter()

    def split():
        return len(splitter.feed(chunk))

    def split_decode():
        n = 0
        for f in splitter.feed(chunk):
            s = snac.decode(f.data)
            icbm.ChannelOneMessage.parse(icbm.Send.parse(s.body).tlvs.get(icbm.TLV_MESSAGE))
            n += 1
        return n

    _, frames = rate(seconds, split)
    print("FLAP split: %.0f frames/s (%d-byte 04,06 frames, 100 per read)" % (frames, len(frame)))
    _, decoded = rate(seconds, split_decode)
    print("split + SNAC + 04,06 + channel-1 text: %.0f messages/s" % (decoded,))

    stored = hash_password(b"secret")
    sealer = PasswordSealer(os.urandom(32))
    sealed = sealer.seal(1001, b"secret")
    key = b"2935860732"
    digest = logincrypto.md5_digest(key, b"secret", True)
    pbkdf2, _ = rate(seconds, lambda: verify_password(b"secret", stored) and 1)
    md5, _ = rate(seconds, lambda: logincrypto.md5_matches(key, digest, True, sealer.unseal(1001, sealed)) and 1)
    print("login check, roasted (PBKDF2): %.0f/s; MD5 (unseal + digest): %.0f/s; ratio %.0fx"
          % (pbkdf2, md5, md5 / pbkdf2))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)

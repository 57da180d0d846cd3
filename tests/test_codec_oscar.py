"""
Tests for L{iserverd.codec.oscar}: every vector of
C{shared/protocol/oscar-vectors.md} that concerns the codec, decoded field by
field and rebuilt byte for byte from the decoded values.

Dumps are in the document's layout (offset, then 16 bytes per row).
"""

import hashlib
from datetime import datetime, timezone

from twisted.trial import unittest

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar import auth, buddy, flap, icbm, icq, logincrypto, service, snac, ssi, userinfo
from iserverd.codec.oscar.wire import Tlvs, u16, u32

h = bytes.fromhex

COOKIE = h("3C 9A 51 07 E2 44 8D 1B 6F 20 C5 73 18 AA 94 0E")
SIGNON = 1083827280  # 2004-05-06 07:08:00 UTC


def dump(*rows):
    """Bytes from hex-dump rows whose first word is the offset."""
    data = b""
    for row in rows:
        offset, _, hexbytes = row.partition(" ")
        assert int(offset, 16) == len(data), row
        data += h(hexbytes)
    return data


def snac_wire(sequence, family, subtype, flags, request_id, body):
    """A whole channel-2 frame carrying one SNAC."""
    data = snac.encode(snac.Snac(family, subtype, flags, request_id, body))
    return flap.encode(flap.Frame(flap.CH_SNAC, sequence, data))


def split(wire):
    """Decode a channel-2 frame into its FLAP and SNAC."""
    frame = flap.decode(wire)
    return frame, snac.decode(frame.data)


class SnacVectorMixin:
    """Decode C{wire} and check the FLAP and SNAC header fields."""

    def check_snac(self, wire, sequence, family, subtype, flags, request_id):
        frame, s = split(wire)
        self.assertEqual(frame.channel, flap.CH_SNAC)
        self.assertEqual(frame.sequence, sequence)
        self.assertEqual((s.family, s.subtype, s.flags, s.request_id),
                         (family, subtype, flags, request_id))
        return s.body


class FlapVectorTests(unittest.TestCase):
    """V1 and V10: frames without SNACs."""

    def test_hello(self):
        """V1: the server hello is channel 1 with version 1."""
        wire = dump("0000  2A 01 5A 00 00 04 00 00 00 01")
        self.assertEqual(flap.hello(0x5A00), wire)
        self.assertEqual(flap.decode(wire), flap.Frame(1, 0x5A00, h("00 00 00 01")))
        self.assertEqual(auth.SignOn.parse(flap.decode(wire).data).kind, auth.SIGNON_HELLO)

    def test_keepalive(self):
        """V10: a keep-alive is an empty channel-5 frame."""
        wire = dump("0000  2A 05 20 30 00 00")
        self.assertEqual(flap.decode(wire), flap.Frame(flap.CH_KEEPALIVE, 0x2030))
        self.assertEqual(flap.encode(flap.Frame(5, 0x2030)), wire)

    def test_disconnect(self):
        """V10: the channel-4 close for a session taken over elsewhere."""
        wire = dump(
            "0000  2A 04 60 50 00 1B 00 09 00 02 00 01 00 0B 00 11",
            "0010  68 74 74 70 3A 2F 2F 31 39 32 2E 30 2E 32 2E 31",
            "0020  2F",
        )
        frame = flap.decode(wire)
        self.assertEqual((frame.channel, frame.sequence), (flap.CH_SIGNOFF, 0x6050))
        close = auth.Disconnect.parse(frame.data)
        self.assertEqual(close, auth.Disconnect(auth.DISCONNECT_OTHER_LOGIN, b"http://192.0.2.1/"))
        self.assertEqual(flap.encode(flap.Frame(4, 0x6050, close.build())), wire)


class RoastedLoginVectorTests(unittest.TestCase):
    """V2: the channel-1 login and its channel-4 replies."""

    def test_roasting(self):
        """V2.1: roasting "secret" and SH's "password" example; roasting is its own inverse."""
        self.assertEqual(logincrypto.roast(b"secret"), h("80 43 E2 B6 5C F2"))
        self.assertEqual(logincrypto.roast(b"password"), h("83 47 F2 B7 4E E9 A9 F6"))
        self.assertEqual(logincrypto.unroast(h("80 43 E2 B6 5C F2")), b"secret")

    def test_roastingPastSixteen(self):
        """The 17th byte is XORed with T[0] again (ambiguity 21), not read past the table."""
        roasted = logincrypto.roast(b"A" * 17)
        self.assertEqual(roasted[16], ord("A") ^ 0xF3)
        self.assertEqual(logincrypto.unroast(roasted), b"A" * 17)

    wire = dump(
        "0000  2A 01 12 34 00 54 00 00 00 01 00 01 00 04 31 30",
        "0010  30 31 00 02 00 06 80 43 E2 B6 5C F2 00 03 00 08",
        "0020  49 43 51 42 61 73 69 63 00 16 00 02 01 0A 00 17",
        "0030  00 02 00 14 00 18 00 02 00 22 00 19 00 02 00 00",
        "0040  00 1A 00 02 0B B8 00 14 00 04 00 00 04 3D 00 0F",
        "0050  00 02 65 6E 00 0E 00 02 75 73",
    )

    def test_cliIdent(self):
        """V2.2: licq's CLI_IDENT decodes to a roasted login of 1001/secret."""
        frame = flap.decode(self.wire)
        self.assertEqual((frame.channel, frame.sequence), (flap.CH_SIGNON, 0x1234))
        signon = auth.SignOn.parse(frame.data)
        self.assertEqual(signon.kind, auth.SIGNON_ROASTED)
        self.assertEqual(signon.screen_name, b"1001")
        self.assertEqual(logincrypto.unroast(signon.roasted_password), b"secret")
        self.assertEqual(signon.client_id, b"ICQBasic")
        self.assertEqual(signon.tlvs.word(auth.TLV_VERSION_BUILD), 3000)
        self.assertEqual(signon.tlvs.dword(auth.TLV_DISTRIBUTION), 0x043D)
        self.assertEqual(signon.tlvs.get(auth.TLV_COUNTRY), b"us")

    def test_cliIdentBuild(self):
        """V2.2: the test client's roasted login is licq's, byte for byte."""
        signon = auth.roasted_signon(b"1001", logincrypto.roast(b"secret"))
        self.assertEqual(flap.encode(flap.Frame(1, 0x1234, signon.build())), self.wire)

    def test_success(self):
        """V2.3: SRV_COOKIE carries the UIN, the BOS address and the cookie."""
        wire = dump(
            "0000  2A 04 5A 01 00 2E 00 01 00 04 31 30 30 31 00 05",
            "0010  00 0E 31 39 32 2E 30 2E 32 2E 31 3A 35 31 39 30",
            "0020  00 06 00 10 3C 9A 51 07 E2 44 8D 1B 6F 20 C5 73",
            "0030  18 AA 94 0E",
        )
        result = auth.AuthResult(b"1001", b"192.0.2.1:5190", COOKIE)
        self.assertEqual(flap.encode(flap.Frame(4, 0x5A01, result.build())), wire)
        frame = flap.decode(wire)
        self.assertEqual(frame.channel, flap.CH_SIGNOFF)
        self.assertEqual(auth.AuthResult.parse(frame.data), result)
        self.assertTrue(result.ok)

    def test_failure(self):
        """V2.4: AUTH_FAILED with error 0x0005 (wrong password)."""
        wire = dump(
            "0000  2A 04 5A 01 00 0E 00 01 00 04 31 30 30 31 00 08",
            "0010  00 02 00 05",
        )
        result = auth.AuthResult(b"1001", error=auth.LOGIN_BAD_PASSWORD)
        self.assertEqual(flap.encode(flap.Frame(4, 0x5A01, result.build())), wire)
        self.assertEqual(auth.AuthResult.parse(flap.decode(wire).data), result)
        self.assertFalse(result.ok)


class Md5LoginVectorTests(unittest.TestCase, SnacVectorMixin):
    """V3: the family-0x17 exchange."""

    key = b"2935860732"

    def test_hashes(self):
        """V3.1: the old and the new digest of "secret" under key 2935860732."""
        self.assertEqual(hashlib.md5(b"secret").hexdigest().upper(),
                         "5EBE2294ECD0E0F08EAB7690D2A6EE69")
        self.assertEqual(logincrypto.md5_digest(self.key, b"secret", False),
                         h("069F627B961BDE47326426158DC0DA81"))
        self.assertEqual(logincrypto.md5_digest(self.key, b"secret", True),
                         h("8305218F20AE727774F558D4EAEC2A7D"))
        self.assertEqual(
            logincrypto.md5_digest_from(self.key, hashlib.md5(b"secret").digest()),
            h("8305218F20AE727774F558D4EAEC2A7D"))

    def test_matches(self):
        """Either digest is accepted whatever the marker says; a wrong one is not."""
        old = h("069F627B961BDE47326426158DC0DA81")
        new = h("8305218F20AE727774F558D4EAEC2A7D")
        for digest in (old, new):
            for marker in (False, True):
                self.assertTrue(logincrypto.md5_matches(self.key, digest, marker, b"secret"))
        self.assertFalse(logincrypto.md5_matches(self.key, old, False, b"secreT"))
        self.assertFalse(logincrypto.md5_matches(b"other", new, True, b"secret"))

    def test_key(self):
        """make_key turns random bytes into printable key characters, at most 64."""
        key = logincrypto.make_key(bytes(range(256)))
        self.assertEqual(len(key), 64)
        self.assertTrue(key.isascii() and all(0x21 <= c < 0x7F for c in key))
        self.assertRaises(ValueError, logincrypto.make_key, b"")

    def test_hello(self):
        """V3.2: licq's hello with TLV 0x8003 is a hello, not a login."""
        wire = dump(
            "0000  2A 01 12 34 00 0C 00 00 00 01 80 03 00 04 00 10",
            "0010  00 00",
        )
        signon = auth.SignOn.parse(flap.decode(wire).data)
        self.assertEqual(signon.kind, auth.SIGNON_HELLO)
        self.assertEqual(signon.tlvs.dword(0x8003), 0x00100000)
        self.assertEqual(flap.encode(flap.Frame(1, 0x1234, signon.build())), wire)

    def test_keyRequest(self):
        """V3.2: 17,06 with Pidgin's empty TLVs 0x004B and 0x005A."""
        wire = dump(
            "0000  2A 02 12 35 00 1A 00 17 00 06 00 00 00 00 00 01",
            "0010  00 01 00 04 31 30 30 31 00 4B 00 00 00 5A 00 00",
        )
        body = self.check_snac(wire, 0x1235, 0x17, 0x06, 0, 1)
        request = auth.KeyRequest.parse(body)
        self.assertEqual(request.screen_name, b"1001")
        self.assertEqual(request.tlvs.types(), [0x004B, 0x005A])
        self.assertEqual(snac_wire(0x1235, 0x17, 0x06, 0, 1, request.build()), wire)

    def test_keyReply(self):
        """V3.2: 17,07 carries a WORD length and the key (ambiguity 13)."""
        wire = dump(
            "0000  2A 02 5A 01 00 16 00 17 00 07 00 00 00 00 00 01",
            "0010  00 0A 32 39 33 35 38 36 30 37 33 32",
        )
        body = self.check_snac(wire, 0x5A01, 0x17, 0x07, 0, 1)
        self.assertEqual(auth.KeyReply.parse(body), auth.KeyReply(self.key))
        self.assertEqual(snac_wire(0x5A01, 0x17, 0x07, 0, 1, auth.KeyReply(self.key).build()), wire)

    old = dump(
        "0000  2A 02 12 36 00 64 00 17 00 02 00 00 00 00 00 02",
        "0010  00 01 00 04 31 30 30 31 00 25 00 10 06 9F 62 7B",
        "0020  96 1B DE 47 32 64 26 15 8D C0 DA 81 00 03 00 08",
        "0030  49 43 51 42 61 73 69 63 00 16 00 02 01 0A 00 17",
        "0040  00 02 00 14 00 18 00 02 00 22 00 19 00 02 00 00",
        "0050  00 1A 00 02 0B B8 00 14 00 04 00 00 04 3D 00 0F",
        "0060  00 02 65 6E 00 0E 00 02 75 73",
    )
    new = dump(
        "0000  2A 02 12 36 00 68 00 17 00 02 00 00 00 00 00 02",
        "0010  00 01 00 04 31 30 30 31 00 25 00 10 83 05 21 8F",
        "0020  20 AE 72 77 74 F5 58 D4 EA EC 2A 7D 00 4C 00 00",
        "0030  00 03 00 08 49 43 51 42 61 73 69 63 00 16 00 02",
        "0040  01 0A 00 17 00 02 00 14 00 18 00 02 00 22 00 19",
        "0050  00 02 00 00 00 1A 00 02 0B B8 00 14 00 04 00 00",
        "0060  04 3D 00 0F 00 02 65 6E 00 0E 00 02 75 73",
    )

    def test_loginOldHash(self):
        """V3.2: 17,02 without TLV 0x4C is the old hash, and it verifies."""
        login = auth.Md5Login.parse(self.check_snac(self.old, 0x1236, 0x17, 0x02, 0, 2))
        self.assertEqual((login.screen_name, login.new_hash), (b"1001", False))
        self.assertEqual(login.tlvs.get(auth.TLV_CLIENT_ID), b"ICQBasic")
        self.assertTrue(logincrypto.md5_matches(self.key, login.digest, login.new_hash, b"secret"))
        built = auth.md5_login(b"1001", logincrypto.md5_digest(self.key, b"secret", False), False)
        self.assertEqual(snac_wire(0x1236, 0x17, 0x02, 0, 2, built.build()), self.old)

    def test_loginNewHash(self):
        """V3.2: 17,02 with an empty TLV 0x4C is the new hash, and it verifies."""
        login = auth.Md5Login.parse(self.check_snac(self.new, 0x1236, 0x17, 0x02, 0, 2))
        self.assertEqual((login.screen_name, login.new_hash), (b"1001", True))
        self.assertTrue(logincrypto.md5_matches(self.key, login.digest, True, b"secret"))
        built = auth.md5_login(b"1001", logincrypto.md5_digest(self.key, b"secret", True), True)
        self.assertEqual(snac_wire(0x1236, 0x17, 0x02, 0, 2, built.build()), self.new)

    def test_replySuccess(self):
        """V3.2: 17,03 success has the same TLVs as the roasted path's reply."""
        wire = dump(
            "0000  2A 02 5A 02 00 38 00 17 00 03 00 00 00 00 00 02",
            "0010  00 01 00 04 31 30 30 31 00 05 00 0E 31 39 32 2E",
            "0020  30 2E 32 2E 31 3A 35 31 39 30 00 06 00 10 3C 9A",
            "0030  51 07 E2 44 8D 1B 6F 20 C5 73 18 AA 94 0E",
        )
        result = auth.AuthResult(b"1001", b"192.0.2.1:5190", COOKIE)
        self.assertEqual(auth.AuthResult.parse(self.check_snac(wire, 0x5A02, 0x17, 3, 0, 2)), result)
        self.assertEqual(snac_wire(0x5A02, 0x17, 0x03, 0, 2, result.build()), wire)

    def test_replyFailure(self):
        """V3.2: 17,03 failure with error 0x0005."""
        wire = dump(
            "0000  2A 02 5A 02 00 18 00 17 00 03 00 00 00 00 00 02",
            "0010  00 01 00 04 31 30 30 31 00 08 00 02 00 05",
        )
        result = auth.AuthResult(b"1001", error=auth.LOGIN_BAD_PASSWORD)
        self.assertEqual(auth.AuthResult.parse(self.check_snac(wire, 0x5A02, 0x17, 3, 0, 2)), result)
        self.assertEqual(snac_wire(0x5A02, 0x17, 0x03, 0, 2, result.build()), wire)

    def test_loginWithoutDigest(self):
        """A 17,02 without a 16-byte digest is malformed."""
        body = Tlvs.of((1, b"1001"), (0x25, b"short")).build()
        self.assertRaises(MalformedPacket, auth.Md5Login.parse, body)
        self.assertRaises(MalformedPacket, auth.Md5Login.parse, Tlvs.of((0x25, bytes(16))).build())
        self.assertRaises(MalformedPacket, auth.KeyRequest.parse, b"")


class BosStartVectorTests(unittest.TestCase, SnacVectorMixin):
    """V4: the BOS start-up."""

    def test_cookie(self):
        """V4: CLI_COOKIE is a channel-1 frame with TLV 0x0006."""
        wire = dump(
            "0000  2A 01 20 00 00 18 00 00 00 01 00 06 00 10 3C 9A",
            "0010  51 07 E2 44 8D 1B 6F 20 C5 73 18 AA 94 0E",
        )
        signon = auth.SignOn.parse(flap.decode(wire).data)
        self.assertEqual((signon.kind, signon.cookie), (auth.SIGNON_COOKIE, COOKIE))
        self.assertEqual(flap.encode(flap.Frame(1, 0x2000, auth.cookie_signon(COOKIE).build())), wire)

    families = (0x01, 0x02, 0x03, 0x04, 0x06, 0x09, 0x0A, 0x0B, 0x13, 0x15)

    def test_families(self):
        """V4: 01,03 lists the families, request id with the high bit."""
        wire = dump(
            "0000  2A 02 60 00 00 1E 00 01 00 03 00 00 80 00 00 01",
            "0010  00 01 00 02 00 03 00 04 00 06 00 09 00 0A 00 0B",
            "0020  00 13 00 15",
        )
        body = self.check_snac(wire, 0x6000, 1, 3, 0, 0x80000001)
        self.assertEqual(service.FamilyList.parse(body).families, self.families)
        self.assertEqual(
            snac_wire(0x6000, 1, 3, 0, 0x80000001, service.FamilyList(self.families).build()), wire)

    def test_versions(self):
        """V4: 01,17 from the client and the server's 01,18."""
        request = dump(
            "0000  2A 02 20 01 00 32 00 01 00 17 00 00 00 00 00 17",
            "0010  00 01 00 04 00 13 00 04 00 02 00 01 00 03 00 01",
            "0020  00 15 00 01 00 04 00 01 00 06 00 01 00 09 00 01",
            "0030  00 0A 00 01 00 0B 00 01",
        )
        reply = dump(
            "0000  2A 02 60 01 00 32 00 01 00 18 00 00 00 00 00 17",
            "0010  00 01 00 04 00 02 00 01 00 03 00 01 00 04 00 01",
            "0020  00 06 00 01 00 09 00 01 00 0A 00 01 00 0B 00 01",
            "0030  00 13 00 04 00 15 00 01",
        )
        asked = service.Versions.parse(self.check_snac(request, 0x2001, 1, 0x17, 0, 0x17))
        self.assertEqual(asked.version_of(1), 4)
        self.assertEqual(asked.version_of(0x13), 4)
        self.assertEqual(len(asked.pairs), 10)
        answer = service.Versions(tuple(sorted(asked.pairs)))
        self.assertEqual(service.Versions.parse(self.check_snac(reply, 0x6001, 1, 0x18, 0, 0x17)),
                         answer)
        self.assertEqual(snac_wire(0x6001, 1, 0x18, 0, 0x17, answer.build()), reply)

    def test_motd(self):
        """V4: 01,13 with the real server's values is the default MOTD."""
        wire = dump(
            "0000  2A 02 60 02 00 18 00 01 00 13 00 00 80 00 00 02",
            "0010  00 05 00 02 00 02 00 1E 00 03 00 02 04 B0",
        )
        self.assertEqual(service.Motd.parse(self.check_snac(wire, 0x6002, 1, 0x13, 0, 0x80000002)),
                         service.Motd())
        self.assertEqual(snac_wire(0x6002, 1, 0x13, 0, 0x80000002, service.Motd().build()), wire)

    rate_class = service.RateClass(1, 80, 2500, 2000, 1500, 800, 3433, 6000, 0, 0)

    def test_rateInfo(self):
        """V4: 01,07 with one 35-byte class and three pairs."""
        wire = dump(
            "0000  2A 02 60 03 00 3F 00 01 00 07 00 00 00 00 00 06",
            "0010  00 01 00 01 00 00 00 50 00 00 09 C4 00 00 07 D0",
            "0020  00 00 05 DC 00 00 03 20 00 00 0D 69 00 00 17 70",
            "0030  00 00 00 00 00 00 01 00 03 00 04 00 06 00 15 00",
            "0040  02 00 13 00 08",
        )
        info = service.RateInfo(
            (self.rate_class,), ((1, ((4, 6), (0x15, 2), (0x13, 8))),))
        self.assertEqual(service.RateInfo.parse(self.check_snac(wire, 0x6003, 1, 7, 0, 6)), info)
        self.assertEqual(snac_wire(0x6003, 1, 7, 0, 6, info.build()), wire)
        self.assertEqual(info.class_of(4, 6), 1)
        self.assertIsNone(info.class_of(4, 7))

    def test_rateInfoShort(self):
        """Family-1 versions 1 and 2 get 31-byte records, without time and state."""
        info = service.RateInfo((self.rate_class,), ((1, ((4, 6),)),))
        self.assertEqual(len(info.build(False)), len(info.build(True)) - 5)
        self.assertEqual(service.RateInfo.parse(info.build(False), False), info)
        self.assertFalse(service.rate_record_has_tail(2))
        self.assertTrue(service.rate_record_has_tail(3))

    def test_rateAck(self):
        """V4: 01,08 lists the accepted class ids."""
        wire = dump(
            "0000  2A 02 20 03 00 0C 00 01 00 08 00 00 00 00 00 08",
            "0010  00 01",
        )
        self.assertEqual(service.RateAck.parse(self.check_snac(wire, 0x2003, 1, 8, 0, 8)),
                         service.RateAck((1,)))
        self.assertEqual(snac_wire(0x2003, 1, 8, 0, 8, service.RateAck((1,)).build()), wire)

    def test_setStatus(self):
        """V4.1: 01,1E with status, the unknown TLV 0x0008 and DC info."""
        wire = dump(
            "0000  2A 02 20 04 00 41 00 01 00 1E 00 00 00 00 00 1E",
            "0010  00 06 00 04 00 01 00 01 00 08 00 02 00 00 00 0C",
            "0020  00 25 C0 A8 00 0A 00 00 04 D2 04 00 08 12 34 56",
            "0030  78 00 00 00 50 00 00 00 03 00 00 00 00 00 00 00",
            "0040  00 00 00 00 00 00 00",
        )
        status = service.SetStatus.parse(self.check_snac(wire, 0x2004, 1, 0x1E, 0, 0x1E))
        self.assertEqual(userinfo.split_status(status.status), (userinfo.STATUS_AWAY, userinfo.FLAG_WEB_AWARE))
        self.assertEqual(status.dc_info, userinfo.DcInfo(
            "192.168.0.10", 1234, 4, 8, 0x12345678, 0x50, 3, 0, 0, 0, 0))
        self.assertEqual(status.tlvs, Tlvs.of((0x0008, u16(0))))
        # Rebuilt in canonical order: status, DC info, then the others.
        rebuilt = service.SetStatus.parse(status.build())
        self.assertEqual(rebuilt, status)
        body = (Tlvs.of((6, u32(0x00010001)), (8, u16(0)), (0x0C, status.dc_info.build())).build())
        self.assertEqual(snac_wire(0x2004, 1, 0x1E, 0, 0x1E, body), wire)

    def test_ready(self):
        """V4.2: 01,02 holds ten quadruples."""
        wire = dump(
            "0000  2A 02 20 05 00 5A 00 01 00 02 00 00 00 00 00 02",
            "0010  00 01 00 04 01 10 08 E4 00 13 00 04 01 10 08 E4",
            "0020  00 02 00 01 01 10 08 E4 00 03 00 01 01 10 08 E4",
            "0030  00 15 00 01 01 10 08 E4 00 04 00 01 01 10 08 E4",
            "0040  00 06 00 01 01 10 08 E4 00 09 00 01 01 10 08 E4",
            "0050  00 0A 00 01 01 10 08 E4 00 0B 00 01 01 10 08 E4",
        )
        ready = service.ClientReady.parse(self.check_snac(wire, 0x2005, 1, 2, 0, 2))
        self.assertEqual(len(ready.entries), 10)
        self.assertEqual(ready.entries[1], (0x13, 4, 0x0110, 0x08E4))
        self.assertEqual(snac_wire(0x2005, 1, 2, 0, 2, ready.build()), wire)


class PresenceVectorTests(unittest.TestCase, SnacVectorMixin):
    """V5: buddy arrived and departed."""

    dc = userinfo.DcInfo("192.168.0.20", 1235, 4, 8, 0x0BADF00D, 0x50, 3, 0x40A1B2C3)

    def test_arrived(self):
        """V5: 03,0B for 1002, free for chat, with DC info, address, capabilities."""
        wire = dump(
            "0000  2A 02 60 10 00 86 00 03 00 0B 00 00 80 00 00 10",
            "0010  04 31 30 30 32 00 00 00 07 00 01 00 02 00 50 00",
            "0020  0C 00 25 C0 A8 00 14 00 00 04 D3 04 00 08 0B AD",
            "0030  F0 0D 00 00 00 50 00 00 00 03 40 A1 B2 C3 00 00",
            "0040  00 00 00 00 00 00 00 00 00 0A 00 04 C0 00 02 08",
            "0050  00 06 00 04 00 00 00 20 00 0D 00 20 09 46 13 49",
            "0060  4C 7F 11 D1 82 22 44 45 53 54 00 00 09 46 13 4E",
            "0070  4C 7F 11 D1 82 22 44 45 53 54 00 00 00 0F 00 04",
            "0080  00 00 00 7D 00 03 00 04 40 99 E4 50",
        )
        body = self.check_snac(wire, 0x6010, 3, 0x0B, 0, 0x80000010)
        (info,) = buddy.parse_presence(body)
        self.assertEqual(info.screen_name, b"1002")
        self.assertEqual(info.user_class, 0x0050)
        self.assertEqual(info.status, 0x00000020)
        self.assertEqual(info.dc_info, self.dc)
        self.assertEqual(info.capabilities, [userinfo.CAP_SRV_RELAY, userinfo.CAP_UTF8])
        self.assertEqual(info.tlvs.dword(userinfo.UI_ONLINE_TIME), 125)
        self.assertEqual(info.tlvs.dword(userinfo.UI_SIGNON), SIGNON)
        built = userinfo.icq_user(
            b"1002", status=userinfo.STATUS_FREE_FOR_CHAT, signon=SIGNON, online_seconds=125,
            dc_info=self.dc, external_ip="192.0.2.8",
            capabilities=[userinfo.CAP_SRV_RELAY, userinfo.CAP_UTF8])
        self.assertEqual(built, info)
        self.assertEqual(snac_wire(0x6010, 3, 0x0B, 0, 0x80000010, buddy.build_presence([built])), wire)

    def test_departed(self):
        """V5: 03,0C carries the class TLV only."""
        wire = dump(
            "0000  2A 02 60 11 00 19 00 03 00 0C 00 00 80 00 00 11",
            "0010  04 31 30 30 32 00 00 00 01 00 01 00 02 00 50",
        )
        body = self.check_snac(wire, 0x6011, 3, 0x0C, 0, 0x80000011)
        self.assertEqual(buddy.parse_presence(body), [userinfo.departed(b"1002")])
        self.assertEqual(
            snac_wire(0x6011, 3, 0x0C, 0, 0x80000011, buddy.build_presence([userinfo.departed(b"1002")])),
            wire)

    def test_userClass(self):
        """Class 0x0050 online, free for chat or invisible, plus 0x0020 when away-like."""
        self.assertEqual(userinfo.user_class(0), 0x0050)
        self.assertEqual(userinfo.user_class(userinfo.STATUS_FREE_FOR_CHAT), 0x0050)
        self.assertEqual(userinfo.user_class(userinfo.STATUS_DND), 0x0070)
        self.assertEqual(userinfo.user_class(userinfo.STATUS_INVISIBLE), 0x0050)
        self.assertEqual(userinfo.user_class(userinfo.STATUS_AWAY), 0x0070)
        self.assertEqual(userinfo.user_class(0x0111), 0x0070)

    def test_statusMapping(self):
        """The status DWORD is v5's flags word over its status word, both ways."""
        self.assertEqual(userinfo.join_status(0x0013, 0x0001), 0x00010013)
        self.assertEqual(userinfo.split_status(0x10000111), (0x0111, 0x1000))
        self.assertTrue(userinfo.is_invisible(0x0101))


class MessageVectorTests(unittest.TestCase, SnacVectorMixin):
    """V6 and V7: channel-1 and channel-4 messages, the server ack."""

    cookie = h("00 00 0F 0A 12 34 56 78")
    hello = icbm.ChannelOneMessage(b"Hello")

    def test_sendAscii(self):
        """V6: 04,06 on channel 1 with an ASCII text and TLV 0x0003."""
        wire = dump(
            "0000  2A 02 20 10 00 33 00 04 00 06 00 00 00 01 00 06",
            "0010  00 00 0F 0A 12 34 56 78 00 01 04 31 30 30 32 00",
            "0020  02 00 12 05 01 00 01 01 01 01 00 09 00 00 00 00",
            "0030  48 65 6C 6C 6F 00 03 00 00",
        )
        send = icbm.Send.parse(self.check_snac(wire, 0x2010, 4, 6, 0, 0x00010006))
        self.assertEqual((send.cookie, send.channel, send.recipient), (self.cookie, 1, b"1002"))
        self.assertTrue(send.wants_ack)
        self.assertFalse(send.store_offline)
        message = icbm.ChannelOneMessage.parse(send.tlvs.get(icbm.TLV_MESSAGE))
        self.assertEqual(message, self.hello)
        self.assertEqual(message.decode("cp1252"), "Hello")
        built = icbm.Send(self.cookie, 1, b"1002", Tlvs.of(
            (icbm.TLV_MESSAGE, self.hello.build()), (icbm.TLV_WANT_ACK, b"")))
        self.assertEqual(snac_wire(0x2010, 4, 6, 0, 0x00010006, built.build()), wire)

    def test_receive(self):
        """V6: the 04,07 delivered to 1002 names the sender with four TLVs."""
        wire = dump(
            "0000  2A 02 60 20 00 51 00 04 00 07 00 00 80 00 00 20",
            "0010  00 00 0F 0A 12 34 56 78 00 01 04 31 30 30 31 00",
            "0020  00 00 04 00 01 00 02 00 50 00 06 00 04 00 01 00",
            "0030  01 00 0F 00 04 00 00 00 3C 00 03 00 04 40 99 E4",
            "0040  50 00 02 00 12 05 01 00 01 01 01 01 00 09 00 00",
            "0050  00 00 48 65 6C 6C 6F",
        )
        received = icbm.Receive.parse(self.check_snac(wire, 0x6020, 4, 7, 0, 0x80000020))
        sender = userinfo.icq_user(b"1001", status=userinfo.STATUS_AWAY, flags=userinfo.FLAG_WEB_AWARE,
                                   online_seconds=60, signon=SIGNON)
        # The class word of an away user carries 0x0020; this vector shows 0x0050.
        sender = userinfo.UserInfo(b"1001", Tlvs(((1, u16(0x0050)),) + sender.tlvs.items[1:]))
        self.assertEqual(received.sender, sender)
        self.assertEqual(icbm.ChannelOneMessage.parse(received.tlvs.get(icbm.TLV_MESSAGE)), self.hello)
        send = icbm.Send(self.cookie, 1, b"1002", Tlvs.of(
            (icbm.TLV_MESSAGE, self.hello.build()), (icbm.TLV_WANT_ACK, b"")))
        built = icbm.Receive(self.cookie, 1, sender, send.relayed())
        self.assertEqual(snac_wire(0x6020, 4, 7, 0, 0x80000020, built.build()), wire)

    def test_serverAck(self):
        """V6: 04,0C names the recipient and copies the 04,06 request id."""
        wire = dump(
            "0000  2A 02 60 21 00 19 00 04 00 0C 00 00 00 01 00 06",
            "0010  00 00 0F 0A 12 34 56 78 00 01 04 31 30 30 32",
        )
        ack = icbm.ServerAck(self.cookie, 1, b"1002")
        self.assertEqual(icbm.ServerAck.parse(self.check_snac(wire, 0x6021, 4, 0x0C, 0, 0x00010006)), ack)
        self.assertEqual(snac_wire(0x6021, 4, 0x0C, 0, 0x00010006, ack.build()), wire)

    unicode_wire = dump(
        "0000  2A 02 20 11 00 41 00 04 00 06 00 00 00 02 00 06",
        "0010  00 00 0F 0B 12 34 56 79 00 01 04 31 30 30 32 00",
        "0020  02 00 1C 05 01 00 02 01 06 01 01 00 12 00 02 00",
        "0030  00 00 47 00 72 00 FC 00 DF 00 65 00 20 20 AC 00",
        "0040  03 00 00 00 06 00 00",
    )

    def test_sendUnicode(self):
        """V6: UCS-2BE "Grüße €" with features 01 06, ack and store requested."""
        send = icbm.Send.parse(self.check_snac(self.unicode_wire, 0x2011, 4, 6, 0, 0x00020006))
        self.assertTrue(send.wants_ack and send.store_offline)
        message = icbm.ChannelOneMessage.parse(send.tlvs.get(icbm.TLV_MESSAGE))
        self.assertEqual((message.charset, message.features), (icbm.CHARSET_UCS2, h("01 06")))
        self.assertEqual(message.decode("cp1252"), "Grüße €")
        built = icbm.Send(h("00 00 0F 0B 12 34 56 79"), 1, b"1002", Tlvs.of(
            (icbm.TLV_MESSAGE, message.build()), (icbm.TLV_WANT_ACK, b""), (icbm.TLV_STORE, b"")))
        self.assertEqual(snac_wire(0x2011, 4, 6, 0, 0x00020006, built.build()), self.unicode_wire)

    def test_bridgeToCodePage(self):
        """V6: the Unicode text in three network code pages, ? for what each cannot hold."""
        send = icbm.Send.parse(split(self.unicode_wire)[1].body)
        value = icbm.ChannelOneMessage.parse(send.tlvs.get(icbm.TLV_MESSAGE)).decode("cp1252")
        self.assertEqual(value.encode("cp1252", "replace") + b"\0", h("47 72 FC DF 65 20 80 00"))
        self.assertEqual(value.encode("iso-8859-1", "replace") + b"\0", h("47 72 FC DF 65 20 3F 00"))
        self.assertEqual(value.encode("cp1251", "replace") + b"\0", h("47 72 3F 3F 65 20 88 00"))

    def test_plainMessageCharsets(self):
        """Server-made channel-1 text: charset 0 for ASCII, 2 with Unicode, else 3."""
        self.assertEqual(icbm.plain_message("Hi", "cp1252", False), icbm.ChannelOneMessage(b"Hi", 0))
        self.assertEqual(icbm.plain_message("Grüße", "cp1252", True),
                         icbm.ChannelOneMessage("Grüße".encode("utf-16-be"), 2))
        self.assertEqual(icbm.plain_message("Grüße €", "iso-8859-1", False),
                         icbm.ChannelOneMessage(b"Gr\xfc\xdfe ?", 3))

    def test_channelFour(self):
        """V7: 04,06 on channel 4 carries a little-endian URL message and TLV 0x0006."""
        wire = dump(
            "0000  2A 02 20 12 00 4A 00 04 00 06 00 00 00 03 00 06",
            "0010  00 00 0F 0C 12 34 56 7A 00 04 04 31 30 30 32 00",
            "0020  05 00 29 E9 03 00 00 04 00 21 00 45 78 61 6D 70",
            "0030  6C 65 20 73 69 74 65 FE 68 74 74 70 3A 2F 2F 65",
            "0040  78 61 6D 70 6C 65 2E 63 6F 6D 2F 00 00 06 00 00",
        )
        send = icbm.Send.parse(self.check_snac(wire, 0x2012, 4, 6, 0, 0x00030006))
        self.assertEqual((send.channel, send.recipient), (icbm.CHANNEL_ICQ, b"1002"))
        self.assertTrue(send.store_offline)
        message = icbm.IcqMessage.parse(send.tlvs.get(icbm.TLV_ICQ_DATA))
        self.assertEqual(message, icbm.IcqMessage(1001, 4, 0, b"Example site\xfehttp://example.com/"))
        self.assertEqual(message.v5_type, 0x0004)
        built = icbm.Send(h("00 00 0F 0C 12 34 56 7A"), 4, b"1002", Tlvs.of(
            (icbm.TLV_ICQ_DATA, message.build()), (icbm.TLV_STORE, b"")))
        self.assertEqual(snac_wire(0x2012, 4, 6, 0, 0x00030006, built.build()), wire)


class OfflineVectorTests(unittest.TestCase, SnacVectorMixin):
    """V8: offline messages through family 0x15."""

    def test_request(self):
        """V8: 15,02 type 0x003C from 1002, sequence bytes kept."""
        wire = dump(
            "0000  2A 02 30 00 00 18 00 15 00 02 00 00 00 05 00 02",
            "0010  00 01 00 0A 08 00 EA 03 00 00 3C 00 02 00",
        )
        envelope = icq.Envelope.parse(self.check_snac(wire, 0x3000, 0x15, 2, 0, 0x00050002))
        self.assertEqual(envelope, icq.Envelope(1002, icq.REQ_OFFLINE, h("02 00")))
        self.assertEqual(snac_wire(0x3000, 0x15, 2, 0, 0x00050002, envelope.build()), wire)

    def test_message(self):
        """V8: 0x0041 from 1001, 2004-05-06 07:08 UTC, "Hi there", flag 0x0001 on the SNAC."""
        wire = dump(
            "0000  2A 02 70 00 00 2F 00 15 00 03 00 01 00 05 00 02",
            "0010  00 01 00 21 1F 00 EA 03 00 00 41 00 02 00 E9 03",
            "0020  00 00 D4 07 05 06 07 08 01 00 09 00 48 69 20 74",
            "0030  68 65 72 65 00",
        )
        envelope = icq.Envelope.parse(self.check_snac(wire, 0x7000, 0x15, 3, snac.FLAG_MORE, 0x00050002))
        self.assertEqual((envelope.uin, envelope.type, envelope.sequence), (1002, icq.REP_OFFLINE, h("02 00")))
        message = icq.OfflineMessage.parse(envelope.data)
        sent = datetime(2004, 5, 6, 7, 8, tzinfo=timezone.utc)
        self.assertEqual(message, icq.OfflineMessage(1001, sent, 1, 0, b"Hi there"))
        request = icq.Envelope(1002, icq.REQ_OFFLINE, h("02 00"))
        body = request.reply(icq.REP_OFFLINE, message.build()).build()
        self.assertEqual(snac_wire(0x7000, 0x15, 3, snac.FLAG_MORE, 0x00050002, body), wire)

    def test_naiveTimeIsUtc(self):
        """A send time without a zone is written as UTC, whatever the machine's zone."""
        aware = icq.OfflineMessage(1, datetime(2004, 5, 6, 7, 8, tzinfo=timezone.utc), 1)
        naive = icq.OfflineMessage(1, datetime(2004, 5, 6, 7, 8), 1)
        self.assertEqual(naive.build(), aware.build())

    def test_done(self):
        """V8: 0x0042 ends the run with the dropped-messages flag 0."""
        wire = dump(
            "0000  2A 02 70 01 00 19 00 15 00 03 00 00 00 05 00 02",
            "0010  00 01 00 0B 09 00 EA 03 00 00 42 00 02 00 00",
        )
        envelope = icq.Envelope.parse(self.check_snac(wire, 0x7001, 0x15, 3, 0, 0x00050002))
        self.assertEqual(envelope, icq.Envelope(1002, icq.REP_OFFLINE_DONE, h("02 00"), b"\x00"))
        self.assertEqual(snac_wire(0x7001, 0x15, 3, 0, 0x00050002,
                                   icq.Envelope(1002, 0x42, h("02 00"), icq.offline_done()).build()), wire)

    def test_delete(self):
        """V8: 0x003E asks to delete the delivered messages."""
        wire = dump(
            "0000  2A 02 30 01 00 18 00 15 00 02 00 00 00 06 00 02",
            "0010  00 01 00 0A 08 00 EA 03 00 00 3E 00 03 00",
        )
        envelope = icq.Envelope.parse(self.check_snac(wire, 0x3001, 0x15, 2, 0, 0x00060002))
        self.assertEqual(envelope, icq.Envelope(1002, icq.REQ_DELETE_OFFLINE, h("03 00")))
        self.assertEqual(snac_wire(0x3001, 0x15, 2, 0, 0x00060002, envelope.build()), wire)

    def test_lengthMismatch(self):
        """An inner length that disagrees with the TLV length is malformed."""
        body = Tlvs.of((1, h("09 00 EA 03 00 00 3C 00 02 00"))).build()
        self.assertRaises(MalformedPacket, icq.Envelope.parse, body)
        self.assertRaises(MalformedPacket, icq.Envelope.parse, b"")


class SsiVectorTests(unittest.TestCase, SnacVectorMixin):
    """V9: the roster and its edits, authorization."""

    general = ssi.Item(b"General", 1, 0, ssi.ITEM_GROUP, Tlvs.of((ssi.TLV_GROUP_MEMBERS, h("01 01 01 02"))))
    bob = ssi.Item(b"1002", 1, 0x0101, ssi.ITEM_BUDDY, Tlvs.of((ssi.TLV_NICK, b"Bob")))
    carol = ssi.Item(b"1003", 1, 0x0102, ssi.ITEM_BUDDY,
                     Tlvs.of((ssi.TLV_NICK, b"Carol"), (ssi.TLV_AWAITING_AUTH, b"")))

    def test_roster(self):
        """V9: 13,06 with a group and two buddies, one awaiting authorization."""
        wire = dump(
            "0000  2A 02 60 30 00 5A 00 13 00 06 00 00 00 00 00 04",
            "0010  00 00 03 00 07 47 65 6E 65 72 61 6C 00 01 00 00",
            "0020  00 01 00 08 00 C8 00 04 01 01 01 02 00 04 31 30",
            "0030  30 32 00 01 01 01 00 00 00 07 01 31 00 03 42 6F",
            "0040  62 00 04 31 30 30 33 00 01 01 02 00 00 00 0D 01",
            "0050  31 00 05 43 61 72 6F 6C 00 66 00 00 40 99 E3 38",
        )
        roster = ssi.Roster.parse(self.check_snac(wire, 0x6030, 0x13, 6, 0, 4))
        self.assertEqual(roster, ssi.Roster((self.general, self.bob, self.carol), 1083827000))
        self.assertEqual(self.general.members, [0x0101, 0x0102])
        self.assertEqual((self.bob.nick, self.bob.awaiting_auth), (b"Bob", False))
        self.assertTrue(self.carol.awaiting_auth)
        (part,) = ssi.roster_parts(roster.items, 1083827000)
        self.assertEqual(snac_wire(0x6030, 0x13, 6, 0, 4, part), wire)

    def test_rosterParts(self):
        """A long roster splits into parts that each end with the time and stay small."""
        items = [ssi.Item(b"%d" % (2000 + i), 1, i + 1, 0, Tlvs.of((ssi.TLV_NICK, b"x" * 30)))
                 for i in range(100)]
        parts = ssi.roster_parts(items, 77, part_size=500)
        self.assertGreater(len(parts), 1)
        rebuilt = []
        for part in parts:
            roster = ssi.Roster.parse(part)
            self.assertEqual(roster.last_change, 77)
            self.assertLessEqual(len(ssi.build_items(roster.items)), 500)
            rebuilt += roster.items
        self.assertEqual(rebuilt, items)
        self.assertEqual(ssi.roster_parts([], 5), [h("00 0000 00000005")])

    def test_unchanged(self):
        """V9: 13,0F carries time and count."""
        wire = dump(
            "0000  2A 02 60 30 00 10 00 13 00 0F 00 00 00 00 00 05",
            "0010  40 99 E3 38 00 03",
        )
        stamp = ssi.RosterStamp(1083827000, 3)
        self.assertEqual(ssi.RosterStamp.parse(self.check_snac(wire, 0x6030, 0x13, 0x0F, 0, 5)), stamp)
        self.assertEqual(snac_wire(0x6030, 0x13, 0x0F, 0, 5, stamp.build()), wire)

    def test_add(self):
        """V9: 13,08 adds buddy 1004 nicknamed Dave."""
        wire = dump(
            "0000  2A 02 20 20 00 20 00 13 00 08 00 00 00 00 00 08",
            "0010  00 04 31 30 30 34 00 01 01 03 00 00 00 08 01 31",
            "0020  00 04 44 61 76 65",
        )
        dave = ssi.Item(b"1004", 1, 0x0103, 0, Tlvs.of((ssi.TLV_NICK, b"Dave")))
        self.assertEqual(ssi.parse_items(self.check_snac(wire, 0x2020, 0x13, 8, 0, 8)), [dave])
        self.assertEqual(snac_wire(0x2020, 0x13, 8, 0, 8, ssi.build_items([dave])), wire)

    def test_result(self):
        """V9: 13,0E holds one result per item: 0x000E authorization required."""
        wire = dump(
            "0000  2A 02 60 31 00 0C 00 13 00 0E 00 00 00 00 00 08",
            "0010  00 0E",
        )
        self.assertEqual(ssi.parse_results(self.check_snac(wire, 0x6031, 0x13, 0x0E, 0, 8)),
                         [ssi.RESULT_AUTH_REQUIRED])
        self.assertEqual(snac_wire(0x6031, 0x13, 0x0E, 0, 8, ssi.build_results([0x0E])), wire)

    def test_authRequest(self):
        """V9: 13,18 from 1001 and the 13,19 delivered to 1004."""
        sent = dump(
            "0000  2A 02 20 21 00 19 00 13 00 18 00 00 00 00 00 18",
            "0010  04 31 30 30 34 00 06 70 6C 65 61 73 65 00 00",
        )
        delivered = dump(
            "0000  2A 02 60 40 00 19 00 13 00 19 00 00 80 00 00 40",
            "0010  04 31 30 30 31 00 06 70 6C 65 61 73 65 00 00",
        )
        request = ssi.AuthRequest.parse(self.check_snac(sent, 0x2021, 0x13, 0x18, 0, 0x18))
        self.assertEqual(request, ssi.AuthRequest(b"1004", b"please"))
        out = ssi.AuthRequest(b"1001", request.reason, request.charset)
        self.assertEqual(ssi.AuthRequest.parse(self.check_snac(delivered, 0x6040, 0x13, 0x19, 0, 0x80000040)), out)
        self.assertEqual(snac_wire(0x6040, 0x13, 0x19, 0, 0x80000040, out.build()), delivered)
        self.assertEqual(snac_wire(0x2021, 0x13, 0x18, 0, 0x18, request.build()), sent)

    def test_authRequestCharset(self):
        """A reason with a charset tail keeps the charset name."""
        request = ssi.AuthRequest(b"1004", "bitte".encode(), b"utf-8")
        self.assertEqual(ssi.AuthRequest.parse(request.build()), request)

    def test_authReply(self):
        """V9: 13,1A grant from 1004 and the 13,1B delivered to 1001."""
        sent = dump(
            "0000  2A 02 21 00 00 12 00 13 00 1A 00 00 00 00 00 1A",
            "0010  04 31 30 30 31 01 00 00",
        )
        delivered = dump(
            "0000  2A 02 60 41 00 12 00 13 00 1B 00 00 80 00 00 41",
            "0010  04 31 30 30 34 01 00 00",
        )
        grant = ssi.AuthReply.parse(self.check_snac(sent, 0x2100, 0x13, 0x1A, 0, 0x1A))
        self.assertEqual(grant, ssi.AuthReply(b"1001", True))
        self.assertEqual(snac_wire(0x2100, 0x13, 0x1A, 0, 0x1A, grant.build()), sent)
        out = ssi.AuthReply(b"1004", True)
        self.assertEqual(ssi.AuthReply.parse(self.check_snac(delivered, 0x6041, 0x13, 0x1B, 0, 0x80000041)), out)
        self.assertEqual(snac_wire(0x6041, 0x13, 0x1B, 0, 0x80000041, out.build()), delivered)

"""
Tests for L{iserverd.codec.v5}.

The vectors are those of C{shared/protocol/v5-vectors.md}; each is written out
byte by byte with a comment per field.  Encrypted datagrams are hex dumps in
the document's layout (offset, then 24 bytes per row).
"""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.wire import lnts

h = bytes.fromhex


def dump(*rows):
    """
    Bytes from hex-dump rows whose first word is the offset.
    """
    data = b""
    for row in rows:
        offset, _, hexbytes = row.partition(" ")
        assert int(offset, 16) == len(data), row
        data += h(hexbytes)
    return data


# --- client vectors (v5-vectors.md section 2 and the client side of 3) -----


class C1Ping:
    """C1: PING (0x042E), 28 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("40 E2 01 00"),  # UIN 123456
        h("4D 3C 2B 1A"),  # session id 0x1A2B3C4D
        h("2E 04"),  # command 0x042E KEEP_ALIVE
        h("34 12"),  # seq1 0x1234
        h("00 00"),  # seq2 0
        h("00 00 00 00"),  # checkcode field (zero in the plaintext)
        h("44 33 22 11"),  # random filler
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 40 E2 01 00 5E 0B CF 99 0C 33 D0 91 34 37 D8 75 87 59",
        "0018  A0 B0 31 26",
    )
    r1, r2 = 25, 0x5A
    cc, scrambled, key = 0x18CC5AF7, 0x598775D8, 0x83E436C7
    packet = v5.ClientPacket(123456, 0x1A2B3C4D, v5.CMD_KEEP_ALIVE, 0x1234, 0, h("44 33 22 11"))
    parser = params = None


class C2Login:
    """C2: LOGIN (0x03E8), 82 bytes, licq's field values."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("E8 03"),  # command 0x03E8 LOGIN
        h("00 01"),  # seq1 0x0100
        h("01 00"),  # seq2 1
        h("00 00 00 00"),  # checkcode field
        h("6D 5C 4B 3A"),  # TIME
        h("D2 04 00 00"),  # TCP_PORT 1234
        h("07 00 73 65 63 72 65 74 00"),  # PASSWORD "secret"
        h("98 00 00 00"),  # X1 0x98
        h("C0 A8 00 0A"),  # INTERNAL_IP 192.168.0.10
        h("04"),  # DC_TYPE 4 (direct)
        h("00 00"),  # STATUS online
        h("00 00"),  # ESTATUS 0
        h("06 00"),  # TCP_VERSION 6
        h("00 00"),  # 0
        h("00 00 00 00"),  # X3 0
        h("08 00 98 00"),  # X4 0x00980008
        h("50 00 00 00"),  # X5 0x50, "web port"
        h("03 00 00 00"),  # X6 3, "client features"
        h("AC FA 5B 38"),  # X7 build stamp
        h("00 00 00 00"),  # X8 0
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 D2 01 D6 84 D3 C8 7B 8E 4C CB BE 88 C6 15",
        "0018  16 D3 67 F1 A9 8B 43 CB 7C 8F 4C AE 18 FD 46 BF 7B 17 11 CB 7B 4F 82 CB",
        "0030  71 8B 47 CB 7B 8F 4A CB 7B 8F 2D CB 7B 8F 41 CB E3 8F 74 CB 7B 8F 2B CB",
        "0048  7B 8F E0 31 20 B7 31 CB 7B 8F",
    )
    r1, r2 = 30, 0x10
    cc, scrambled, key = 0x1EFF1048, 0x15C688BE, 0x8F7BCAE0
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_LOGIN, 0x0100, 1, plain[24:])
    parser = v5.LoginRequest
    params = v5.LoginRequest(
        time=0x3A4B5C6D,
        tcp_port=1234,
        password=b"secret",
        internal_ip="192.168.0.10",
        dc_type=4,
        status=0,
        estatus=0,
        tcp_version=6,
        web_port=0x50,
        client_features=3,
        x1=0x98,
        x3=0,
        x4=0x00980008,
        x7=0x385BFAAC,
        x8=0,
    )


class C3Ack:
    """C3: client ACK (0x000A) of the HELLO, padded to 28 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("0A 00"),  # command 0x000A ACK
        h("00 00"),  # seq1 0, copied from the HELLO
        h("01 00"),  # seq2 1, copied from the HELLO
        h("00 00 00 00"),  # checkcode field
        h("ED 5E ED 5E"),  # random filler (licq pads 24-byte packets)
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 CC 11 87 88 4B DB 2A 83 52 DB 25 66 07 F8",
        "0018  C7 DD DF 85",
    )
    r1, r2 = 24, 0xFF
    cc, scrambled, key = 0x1812FF16, 0xF8076625, 0x832ADAE6
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_ACK, 0, 1, h("ED 5E ED 5E"))
    parser = params = None


class C4Message:
    """C4: SEND_MESSAGE (0x010E) "Hello" to 1002, 38 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("0E 01"),  # command 0x010E SEND_MESSAGE
        h("02 01"),  # seq1 0x0102
        h("03 00"),  # seq2 3
        h("00 00 00 00"),  # checkcode field
        h("EA 03 00 00"),  # recipient UIN 1002
        h("01 00"),  # type 0x0001 normal
        h("06 00 48 65 6C 6C 6F 00"),  # text "Hello"
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 5E 52 05 AB A1 99 AA A1 C2 98 B4 C0 08 83",
        "0018  42 A3 A0 98 A9 A0 B1 98 E0 C5 DF F4 C7 A0",
    )
    r1, r2 = 33, 0x80
    cc, scrambled, key = 0x219A804C, 0x8308C0B4, 0xA0A89854
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_SEND_MESSAGE, 0x0102, 3, plain[24:])
    parser = v5.SendMessage
    params = v5.SendMessage(recipient=1002, msg_type=1, text=b"Hello")


class C5MetaInfo:
    """C5: META_USER (0x064A) sub-command 0x04CF for 1002, 30 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("4A 06"),  # command 0x064A META_USER
        h("03 01"),  # seq1 0x0103
        h("04 00"),  # seq2 4
        h("00 00 00 00"),  # checkcode field
        h("CF 04"),  # sub-command 0x04CF
        h("EA 03 00 00"),  # target UIN 1002
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 BD 7F 73 5C 18 B3 DD 56 60 B5 B8 F0 C6 07",
        "0018  11 53 A9 B6 DE 57",
    )
    r1, r2 = 27, 0x00
    cc, scrambled, key = 0x1BFC004F, 0x07C6F0B8, 0x57DEB4F7
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_META_USER, 0x0103, 4, plain[24:])
    parser = v5.MetaRequest
    params = v5.MetaRequest(0x04CF, h("EA 03 00 00"))


class C6ContactList:
    """C6: CONTACT_LIST (0x0406) with 1002 and 1003, 33 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("06 04"),  # command 0x0406 CONTACT_LIST
        h("01 01"),  # seq1 0x0101
        h("02 00"),  # seq2 2
        h("00 00 00 00"),  # checkcode field
        h("02"),  # count 2
        h("EA 03 00 00"),  # UIN 1002
        h("EB 03 00 00"),  # UIN 1003
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 83 E7 BD 85 8A 29 11 8F 9C 2D BA 56 C6 31",
        "0018  12 64 7E 2D 10 65 97 2D 10",
    )
    r1, r2 = 24, 0x33
    cc, scrambled, key = 0x18FD3345, 0x31C656BA, 0x8E102D31
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_CONTACT_LIST, 0x0101, 2, plain[24:])
    parser = v5.UinList
    params = v5.UinList((1002, 1003))


class C7VisibleList:
    """C7: VIS_LIST (0x06AE) with 1003, 29 bytes: a partial last XOR block."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("AE 06"),  # command 0x06AE VIS_LIST
        h("04 01"),  # seq1 0x0104
        h("05 00"),  # seq2 5
        h("00 00 00 00"),  # checkcode field
        h("01"),  # count 1
        h("EB 03 00 00"),  # UIN 1003
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 FC DB D0 FB BF 17 79 F1 26 11 FE A8 C7 C9",
        "0018  7C 1B 01 11 7D",
    )
    r1, r2 = 28, 0xC8
    cc, scrambled, key = 0x1CFFC87A, 0xC9C7A8FE, 0xF07D10B6
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_VIS_LIST, 0x0104, 5, plain[24:])
    parser = v5.UinList
    params = v5.UinList((1003,))


class C8Logoff:
    """C8: LOGOFF (0x0438), 48 bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("38 04"),  # command 0x0438 LOGOFF
        h("05 01"),  # seq1 0x0105
        h("06 00"),  # seq2 6
        h("00 00 00 00"),  # checkcode field
        h("14 00") + b"B_USER_DISCONNECTED\x00",  # text
        h("05 00"),  # WORD 5
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 51 19 13 B0 86 D7 BB BA D6 D3 75 36 4A 79",
        "0018  AA BB ED 8C EB E8 83 81 E1 FF 8B 80 FD F4 E8 9D FB F8 C0 96 FA BB A8 D3",
    )
    r1, r2 = 40, 0x7F
    cc, scrambled, key = 0x28BA7F23, 0x794A3675, 0xBBBED363
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_LOGOFF, 0x0105, 6, plain[24:])
    parser = v5.Logoff
    params = v5.Logoff(b"B_USER_DISCONNECTED")


class AckMessagesVector:
    """Section 3.1: ACK_MESSAGES (0x0442) with four filler bytes."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("42 04"),  # command 0x0442 ACK_MESSAGES
        h("06 01"),  # seq1 0x0106
        h("07 00"),  # seq2 7
        h("00 00 00 00"),  # checkcode field
        h("00 00 00 00"),  # random filler
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 69 24 BB 8D E4 EA 10 87 BF EE FE B4 C7 15",
        "0018  16 86 97 EE",
    )
    r1, r2 = 26, 0x12
    cc, scrambled, key = 0x1AFF127B, None, 0x8616EE4B
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_ACK_MESSAGES, 0x0106, 7, bytes(4))
    parser = params = None


class AckFromBVector:
    """Section 3.3: user B's ACK (0x000A) of ONLINE_MESSAGE."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("EA 03 00 00"),  # UIN 1002
        h("33 33 22 22"),  # session id 0x22223333
        h("0A 00"),  # command 0x000A ACK
        h("05 00"),  # seq1 5, copied from ONLINE_MESSAGE
        h("00 00"),  # seq2 0
        h("00 00 00 00"),  # checkcode field
        h("0D F0 AD 0B"),  # random filler
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 EA 03 00 00 5E 2D 48 A7 76 1E 6F 85 8E 1E A4 14 87 44",
        "0018  67 75 C0 15",
    )
    r1, r2 = 26, 0x42
    cc, scrambled, key = 0x1A524251, None, 0x856A1E21
    packet = v5.ClientPacket(1002, 0x22223333, v5.CMD_ACK, 5, 0, h("0D F0 AD 0B"))
    parser = params = None


class MetaSetPasswordVector:
    """Section 3.5: META_USER sub-command 0x042E, set password "newpass"."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("4A 06"),  # command 0x064A META_USER
        h("07 01"),  # seq1 0x0107
        h("08 00"),  # seq2 8
        h("00 00 00 00"),  # checkcode field
        h("2E 04"),  # sub-command 0x042E
        h("08 00") + b"newpass\x00",  # new password
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 13 11 EF D9 B6 DD 45 D3 06 DC FF 10 C9 9F",
        "0018  6C D6 E5 DB 2C B7 73 AC 23 A1 73 DC",
    )
    r1, r2 = 35, 0x9C
    cc, scrambled, key = 0x23FF9C71, None, 0xD242DBA1
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_META_USER, 0x0107, 8, plain[24:])
    parser = v5.MetaRequest
    params = v5.MetaRequest(0x042E, h("08 00") + b"newpass\x00")


class MetaSearchUinVector:
    """Section 3.6: META_USER sub-command 0x051F, search for UIN 1002."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("E9 03 00 00"),  # UIN 1001
        h("FE CA AD 0B"),  # session id 0x0BADCAFE
        h("4A 06"),  # command 0x064A META_USER
        h("08 01"),  # seq1 0x0108
        h("09 00"),  # seq2 9
        h("00 00 00 00"),  # checkcode field
        h("1F 05"),  # sub-command 0x051F
        h("EA 03 00 00"),  # UIN 1002
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 E9 03 00 00 C3 1C 4C 52 06 D0 E9 58 57 D6 BE 9A C6 23",
        "0018  FE 5C D7 D5 E1 59",
    )
    r1, r2 = 29, 0x21
    cc, scrambled, key = 0x1DFF2149, None, 0x59E1D5F1
    packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_META_USER, 0x0108, 9, plain[24:])
    parser = v5.MetaRequest
    params = v5.MetaRequest(0x051F, h("EA 03 00 00"))


class RegisterVector:
    """Section 3.9: REG_NEW_USER (0x03FC) as licq sends it."""

    plain = b"".join([
        h("05 00"),  # version 5
        h("00 00 00 00"),  # zero
        h("00 00 00 00"),  # UIN 0
        h("67 45 23 01"),  # session id 0x01234567
        h("FC 03"),  # command 0x03FC REG_NEW_USER
        h("00 20"),  # seq1 0x2000
        h("01 00"),  # seq2 1
        h("00 00 00 00"),  # checkcode field
        h("07 00") + b"secret\x00",  # password
        h("A0 00 00 00"),  # X1 0xA0
        h("61 24 00 00"),  # X2 0x2461
        h("00 00"),  # read as an empty e-mail
        h("A0 00 00 00 00 00"),  # the rest of licq's filler
    ])
    wire = dump(
        "0000  05 00 00 00 00 00 00 00 00 00 A3 59 4A 25 2F 1F 69 04 E4 1C BE C7 CA 59",
        "0018  6E 24 B7 79 0A 56 BE 68 69 84 D7 1C 69 45 9F 1C 69 24 A9 BC 69 24 C2 1C",
        "0030  69",
    )
    r1, r2 = 40, 0x5B
    cc, scrambled, key = 0x28FF5BCC, None, 0x24691C78
    packet = v5.ClientPacket(0, 0x01234567, v5.CMD_REG_NEW_USER, 0x2000, 1, plain[24:])
    parser = v5.RegisterRequest
    params = v5.RegisterRequest(b"secret", 0xA0, 0x2461, b"")


CLIENT_VECTORS = [
    C1Ping,
    C2Login,
    C3Ack,
    C4Message,
    C5MetaInfo,
    C6ContactList,
    C7VisibleList,
    C8Logoff,
    AckMessagesVector,
    AckFromBVector,
    MetaSetPasswordVector,
    MetaSearchUinVector,
    RegisterVector,
]


class ClientVectorMixin:
    """
    Checks one client vector both ways; C{vector} names it.
    """

    vector = None

    def test_length(self):
        """Plaintext and datagram have the same length."""
        self.assertEqual(len(self.vector.plain), len(self.vector.wire))

    def test_checkcode(self):
        """The checkcode of the plaintext with the vector's r1/r2 is the documented CC."""
        v = self.vector
        self.assertEqual(v5.checkcode(v.plain, v.r1, v.r2), v.cc)

    def test_checkcodeValid(self):
        """The documented CC passes the strict and the lenient checkcode test."""
        v = self.vector
        self.assertTrue(v5.checkcode_ok(v.plain, v.cc, strict=True))
        self.assertTrue(v5.checkcode_ok(v.wire, v.cc))

    def test_scrambledField(self):
        """Offset 0x14 of the datagram holds scramble(CC), little-endian."""
        v = self.vector
        stored = int.from_bytes(v.wire[20:24], "little")
        self.assertEqual(stored, v5.scramble(v.cc))
        self.assertEqual(v5.descramble(stored), v.cc)
        if v.scrambled is not None:
            self.assertEqual(stored, v.scrambled)

    def test_key(self):
        """The key derived from the length and CC is the documented KEY."""
        v = self.vector
        self.assertEqual(v5.key(len(v.wire), v.cc), v.key)

    def test_crypt(self):
        """The XOR stream maps plaintext to datagram and back, bytes 20-23 aside."""
        v = self.vector
        encrypted = v5.crypt(v.plain, v.key)
        self.assertEqual(encrypted[:20] + encrypted[24:], v.wire[:20] + v.wire[24:])
        self.assertEqual(encrypted[20:24], bytes(4))
        decrypted = v5.crypt(v.wire, v.key)
        self.assertEqual(decrypted[:20] + decrypted[24:], v.plain[:20] + v.plain[24:])
        self.assertEqual(decrypted[20:24], v.wire[20:24])

    def test_encode(self):
        """encode_client with the vector's r1/r2 gives the datagram byte for byte."""
        v = self.vector
        self.assertEqual(v5.encode_client(v.packet, v.r1, v.r2), v.wire)

    def test_decode(self):
        """decode_client recovers the header fields and the parameters."""
        self.assertEqual(v5.decode_client(self.vector.wire), self.vector.packet)


class ClientParametersMixin:
    """
    Checks the parameters of a client vector that has some.
    """

    def test_parameters(self):
        """The parameters parse to the documented fields."""
        v = self.vector
        self.assertEqual(v.parser.parse(v.packet.data), v.params)

    def test_buildParameters(self):
        """Building the parsed parameters gives the client's bytes, less licq's filler."""
        v = self.vector
        built = v.params.build()
        if v is RegisterVector:
            self.assertEqual(built, v.packet.data[:17] + h("01 00 00"))
        else:
            self.assertEqual(built, v.packet.data)


def _vectorTests(vector, *mixins):
    """
    A TestCase running the given mixins' checks on one vector.
    """
    bases = tuple(mixins) + (unittest.TestCase,)
    attrs = {"vector": vector, "__doc__": vector.__doc__}
    return type(vector.__name__ + "Tests", bases, attrs)


for _vector in CLIENT_VECTORS:
    _mixins = [ClientVectorMixin]
    if _vector.parser is not None:
        _mixins.append(ClientParametersMixin)
    _case = _vectorTests(_vector, *_mixins)
    globals()[_case.__name__] = _case
del _vector, _mixins, _case


# --- server vectors (v5-vectors.md section 3) ------------------------------


A = dict(session_id=0x0BADCAFE, uin=1001)  # user A's session, as in section 3
B = dict(session_id=0x22223333, uin=1002)  # user B's


class AckLoginVector:
    """Server ACK of the LOGIN."""

    wire = dump("0000  05 00 00 FE CA AD 0B 0A 00 00 01 01 00 E9 03 00 00 C7 40 CB 03")
    r1, r2, cc = 3, 0x40, 0x03CB40C7
    packet = v5.ServerPacket(command=v5.SRV_ACK, seq1=0x0100, seq2=1, **A)

    @staticmethod
    def build():
        return v5.ack_for(C2Login.packet)


class HelloVector:
    """LOGIN_REPLY / HELLO."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B 5A 00 00 00 01 00 E9 03 00 00 C0 11 6F 07 8C 00 00",
        "0018  00 6E 00 0A 00 0A 00 05 00 C0 00 02 07 9B C1 CD 80",
    )
    r1, r2, cc = 7, 0x11, 0x076F11C0
    data = b"".join([
        h("8C 00"),  # 0x008C
        h("00 00"),  # 0
        h("6E 00"),  # keep-alive interval 120 - 10 = 110
        h("0A 00"),  # resend timeout 10
        h("0A 00"),  # 0x000A
        h("05 00"),  # retries 5
        h("C0 00 02 07"),  # client IP as seen: 192.0.2.7
        h("9B C1 CD 80"),  # 0x80CDC19B
    ])
    packet = v5.ServerPacket(command=v5.SRV_HELLO, seq1=0, seq2=1, data=data, **A)
    parsed = v5.Hello(keepalive=110, timeout=10, retries=5, client_ip="192.0.2.7")

    @staticmethod
    def build():
        return v5.ServerPacket(
            command=v5.SRV_HELLO, seq1=0, seq2=1, data=v5.hello(120, 10, 5, "192.0.2.7"), **A
        )


class AckContactListVector:
    """Server ACK of the contact list."""

    wire = dump("0000  05 00 00 FE CA AD 0B 0A 00 01 01 02 00 E9 03 00 00 BF 55 35 02")
    r1, r2, cc = 2, 0x55, 0x023555BF
    packet = v5.ServerPacket(command=v5.SRV_ACK, seq1=0x0101, seq2=2, **A)

    @staticmethod
    def build():
        return v5.ack_for(C6ContactList.packet)


class UserOnlineVector:
    """USER_ONLINE about 1002."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B 6E 00 01 00 00 00 E9 03 00 00 B3 66 35 01 EA 03 00",
        "0018  00 C6 33 64 14 DC 05 00 00 0A 00 00 05 04 01 00 00 00 06 00 00 00 00 00",
        "0030  00 00 50 00 00 00 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    )
    r1, r2, cc = 1, 0x66, 0x013566B3
    data = b"".join([
        h("EA 03 00 00"),  # UIN 1002
        h("C6 33 64 14"),  # external IP 198.51.100.20
        h("DC 05 00 00"),  # TCP port 1500
        h("0A 00 00 05"),  # internal IP 10.0.0.5
        h("04"),  # DC type 4
        h("01 00"),  # status away
        h("00 00"),  # status flags 0
        h("06 00 00 00"),  # TCP version 6
        h("00 00 00 00"),  # DC cookie 0
        h("50 00 00 00"),  # web port 0x50
        h("03 00 00 00"),  # client features 3
        h("00 00 00 00"),  # info update time 0
        h("00 00 00 00"),  # more-info update time 0
        h("00 00 00 00"),  # status update time 0
    ])
    packet = v5.ServerPacket(command=v5.SRV_USER_ONLINE, seq1=1, seq2=0, data=data, **A)
    parsed = v5.UserOnline(
        uin=1002,
        external_ip="198.51.100.20",
        tcp_port=1500,
        internal_ip="10.0.0.5",
        dc_type=4,
        status=1,
        flags=0,
        tcp_version=6,
    )

    @staticmethod
    def build():
        data = v5.user_online(1002, "198.51.100.20", 1500, "10.0.0.5", 4, 1, 0, 6)
        return v5.ServerPacket(command=v5.SRV_USER_ONLINE, seq1=1, seq2=0, data=data, **A)


class ContactListDoneVector:
    """CONTACT_LIST_DONE."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B 1C 02 02 00 00 00 E9 03 00 00 C2 77 FF 06 E9 03 00",
        "0018  00",
    )
    r1, r2, cc = 4, 0x77, 0x06FF77C2
    data = h("E9 03 00 00")  # own UIN
    packet = v5.ServerPacket(command=v5.SRV_CONTACT_LIST_DONE, seq1=2, seq2=0, data=data, **A)
    parsed = v5.ContactListDone(1001)

    @staticmethod
    def build():
        data = v5.contact_list_done(1001)
        return v5.ServerPacket(
            command=v5.SRV_CONTACT_LIST_DONE, seq1=2, seq2=0, data=data, **A
        )


class OfflineMessageVector:
    """OFFLINE_MESSAGE from 1003, sent 2001-04-23 10:15 UTC."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DC 00 03 00 00 00 E9 03 00 00 AC 88 3E 06 EB 03 00",
        "0018  00 D1 07 04 17 0A 0F 01 00 0F 00 41 72 65 20 79 6F 75 20 74 68 65 72 65",
        "0030  3F 00",
    )
    r1, r2, cc = 6, 0x88, 0x063E88AC
    data = b"".join([
        h("EB 03 00 00"),  # sender UIN 1003
        h("D1 07"),  # year 2001
        h("04"),  # month 4
        h("17"),  # day 23
        h("0A"),  # hour 10 (UTC)
        h("0F"),  # minute 15
        h("01 00"),  # type normal
        h("0F 00") + b"Are you there?\x00",  # text
    ])
    packet = v5.ServerPacket(command=v5.SRV_OFFLINE_MESSAGE, seq1=3, seq2=0, data=data, **A)
    parsed = v5.OfflineMessage(1003, 2001, 4, 23, 10, 15, 1, b"Are you there?")

    @staticmethod
    def build():
        when = datetime(2001, 4, 23, 10, 15, tzinfo=timezone.utc)
        data = v5.offline_message(1003, when, 1, b"Are you there?")
        return v5.ServerPacket(
            command=v5.SRV_OFFLINE_MESSAGE, seq1=3, seq2=0, data=data, **A
        )


class EndOfflineVector:
    """END_OFFLINE_MESSAGES."""

    wire = dump("0000  05 00 00 FE CA AD 0B E6 00 04 00 00 00 E9 03 00 00 B8 99 35 08")
    r1, r2, cc = 8, 0x99, 0x083599B8
    packet = v5.ServerPacket(command=v5.SRV_END_OFFLINE_MESSAGES, seq1=4, seq2=0, **A)


class BusyVector:
    """BUSY: the UIN is already online."""

    wire = dump("0000  05 00 00 FE CA AD 0B FA 00 00 00 01 00 E9 03 00 00 AB 22 30 00")
    r1, r2, cc = 0, 0x22, 0x003022AB
    packet = v5.ServerPacket(command=v5.SRV_BUSY, seq1=0, seq2=1, **A)


class LoginErrVector:
    """LOGIN_ERR "Account locked..."."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B 70 03 00 00 01 00 E9 03 00 00 A7 33 98 06 12 00 41",
        "0018  63 63 6F 75 6E 74 20 6C 6F 63 6B 65 64 2E 2E 2E 00 00 00 00 00",
    )
    r1, r2, cc = 5, 0x33, 0x069833A7
    data = b"".join([
        h("12 00") + b"Account locked...\x00",  # text
        h("00 00 00 00"),  # 0
    ])
    packet = v5.ServerPacket(command=v5.SRV_LOGIN_ERR, seq1=0, seq2=1, data=data, **A)
    parsed = v5.LoginErr(b"Account locked...")

    @staticmethod
    def build():
        data = v5.login_err("Account locked...")
        return v5.ServerPacket(command=v5.SRV_LOGIN_ERR, seq1=0, seq2=1, data=data, **A)


class NotConnectedVector:
    """NOT_CONNECTED answering a packet with SEQ2 7."""

    wire = dump("0000  05 00 00 FE CA AD 0B F0 00 00 00 07 00 E9 03 00 00 96 44 35 09")
    r1, r2, cc = 9, 0x44, 0x09354496
    packet = v5.ServerPacket(command=v5.SRV_NOT_CONNECTED, seq1=0, seq2=7, **A)


class AckMessageVector:
    """Server ACK of the message to 1002."""

    wire = dump("0000  05 00 00 FE CA AD 0B 0A 00 02 01 03 00 E9 03 00 00 94 BB 36 0B")
    r1, r2, cc = 11, 0xBB, 0x0B36BB94
    packet = v5.ServerPacket(command=v5.SRV_ACK, seq1=0x0102, seq2=3, **A)

    @staticmethod
    def build():
        return v5.ack_for(C4Message.packet)


class OnlineMessageVector:
    """ONLINE_MESSAGE "Hello" from 1001 to user B."""

    wire = dump(
        "0000  05 00 00 33 33 22 22 04 01 05 00 00 00 EA 03 00 00 B9 AA CC 0B E9 03 00",
        "0018  00 01 00 06 00 48 65 6C 6C 6F 00",
    )
    r1, r2, cc = 10, 0xAA, 0x0BCCAAB9
    data = b"".join([
        h("E9 03 00 00"),  # sender UIN 1001
        h("01 00"),  # type normal
        h("06 00") + b"Hello\x00",  # text
    ])
    packet = v5.ServerPacket(command=v5.SRV_ONLINE_MESSAGE, seq1=5, seq2=0, data=data, **B)
    parsed = v5.OnlineMessage(1001, 1, b"Hello")

    @staticmethod
    def build():
        data = v5.online_message(1001, 1, b"Hello")
        return v5.ServerPacket(command=v5.SRV_ONLINE_MESSAGE, seq1=5, seq2=0, data=data, **B)


class AckMetaVector:
    """Server ACK of META 0x04CF."""

    wire = dump("0000  05 00 00 FE CA AD 0B 0A 00 03 01 04 00 E9 03 00 00 95 CC 35 0C")
    r1, r2, cc = 12, 0xCC, 0x0C35CC95
    packet = v5.ServerPacket(command=v5.SRV_ACK, seq1=0x0103, seq2=4, **A)

    @staticmethod
    def build():
        return v5.ack_for(C5MetaInfo.packet)


def _meta(seq1, seq2, subcommand, result, rest):
    """The expected packet and parse of a META reply to user A."""
    data = v5.meta_reply(subcommand, result, rest)
    packet = v5.ServerPacket(command=v5.SRV_META_USER, seq1=seq1, seq2=seq2, data=data, **A)
    return packet, v5.MetaReply(subcommand, result, rest)


class MetaGeneralVector:
    """META reply 1/7: general info 0x00C8, 99b form."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 06 00 04 00 E9 03 00 00 94 01 30 03 C8 00 0A",
        "0018  04 00 42 6F 62 00 07 00 52 6F 62 65 72 74 00 06 00 53 6D 69 74 68 00 01",
        "0030  00 00 10 00 62 6F 62 40 65 78 61 6D 70 6C 65 2E 6F 72 67 00 01 00 00 06",
        "0048  00 50 61 72 69 73 00 01 00 00 01 00 00 01 00 00 01 00 00 01 00 00 06 00",
        "0060  37 35 30 30 31 00 21 00 FE FF 01 01 00 00 00",
    )
    r1, r2, cc = 0, 0x01, 0x03300194
    packet, parsed = _meta(6, 4, 0x00C8, v5.META_OK, b"".join([
        h("04 00") + b"Bob\x00",  # nick
        h("07 00") + b"Robert\x00",  # first
        h("06 00") + b"Smith\x00",  # last
        h("01 00 00"),  # e-mail 1, hidden by its owner
        h("10 00") + b"bob@example.org\x00",  # e-mail 2
        h("01 00 00"),  # e-mail 3
        h("06 00") + b"Paris\x00",  # city
        h("01 00 00"),  # state
        h("01 00 00"),  # phone
        h("01 00 00"),  # fax
        h("01 00 00"),  # street
        h("01 00 00"),  # cellular
        h("06 00") + b"75001\x00",  # ZIP as a string
        h("21 00"),  # country 33
        h("FE FF"),  # time zone -2 as a WORD
        h("01"),  # 1
        h("01"),  # hide-e-mail flag
        h("00 00 00"),  # 0, 0, 0
    ]))


class MetaMoreVector:
    """META reply 2/7: more info 0x00DC, 99b form."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 07 00 04 00 E9 03 00 00 C3 02 35 02 DC 00 0A",
        "0018  1E 00 02 14 00 68 74 74 70 3A 2F 2F 65 78 61 6D 70 6C 65 2E 6F 72 67 2F",
        "0030  00 B3 07 05 11 0C 00 00",
    )
    r1, r2, cc = 1, 0x02, 0x023502C3
    packet, parsed = _meta(7, 4, 0x00DC, v5.META_OK, b"".join([
        h("1E 00"),  # age 30
        h("02"),  # gender male
        h("14 00") + b"http://example.org/\x00",  # homepage
        h("B3 07"),  # birth year 1971
        h("05"),  # month
        h("11"),  # day 17
        h("0C"),  # language 1
        h("00"),  # language 2
        h("00"),  # language 3
    ]))


class MetaHomepageVector:
    """META reply 3/7: homepage category 0x010E."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 08 00 04 00 E9 03 00 00 9F 03 35 01 0E 01 0A",
        "0018  00 00 00 01 00 00 00",
    )
    r1, r2, cc = 2, 0x03, 0x0135039F
    packet, parsed = _meta(8, 4, 0x010E, v5.META_OK, b"".join([
        h("00"),  # enabled 0
        h("00 00"),  # category 0
        h("01 00 00"),  # description
        h("00"),  # 0
    ]))


class MetaWorkVector:
    """META reply 4/7: work info 0x00D2, 99b form."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 09 00 04 00 E9 03 00 00 91 04 CB 00 D2 00 0A",
        "0018  05 00 4C 79 6F 6E 00 01 00 00 01 00 00 01 00 00 01 00 00 06 00 36 39 30",
        "0030  30 30 00 21 00 05 00 41 43 4D 45 00 04 00 52 26 44 00 09 00 45 6E 67 69",
        "0048  6E 65 65 72 00 04 00 01 00 00",
    )
    r1, r2, cc = 3, 0x04, 0x00CB0491
    packet, parsed = _meta(9, 4, 0x00D2, v5.META_OK, b"".join([
        h("05 00") + b"Lyon\x00",  # city
        h("01 00 00"),  # state
        h("01 00 00"),  # phone
        h("01 00 00"),  # fax
        h("01 00 00"),  # street
        h("06 00") + b"69000\x00",  # ZIP
        h("21 00"),  # country 33
        h("05 00") + b"ACME\x00",  # company
        h("04 00") + b"R&D\x00",  # department
        h("09 00") + b"Engineer\x00",  # position
        h("04 00"),  # occupation 4
        h("01 00 00"),  # homepage
    ]))


class MetaAboutVector:
    """META reply 5/7: about 0x00E6."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 0A 00 04 00 E9 03 00 00 96 05 FF 07 E6 00 0A",
        "0018  09 00 48 69 20 74 68 65 72 65 00",
    )
    r1, r2, cc = 4, 0x05, 0x07FF0596
    packet, parsed = _meta(10, 4, 0x00E6, v5.META_OK, h("09 00") + b"Hi there\x00")  # notes


class MetaInterestsVector:
    """META reply 6/7: interests 0x00F0."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 0B 00 04 00 E9 03 00 00 B2 06 98 06 F0 00 0A",
        "0018  01 64 00 06 00 43 68 65 73 73 00",
    )
    r1, r2, cc = 5, 0x06, 0x069806B2
    packet, parsed = _meta(11, 4, 0x00F0, v5.META_OK, b"".join([
        h("01"),  # count 1
        h("64 00"),  # category 100
        h("06 00") + b"Chess\x00",  # keywords
    ]))


class MetaAffiliationsVector:
    """META reply 7/7: past and affiliations 0x00FA."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 0C 00 04 00 E9 03 00 00 BC 07 3E 05 FA 00 0A",
        "0018  03 00 00 01 00 00 00 00 01 00 00 00 00 01 00 00 03 00 00 01 00 00 00 00",
        "0030  01 00 00 00 00 01 00 00 00 00 01 00 00",
    )
    r1, r2, cc = 6, 0x07, 0x053E07BC
    entry = h("00 00") + h("01 00 00")  # category 0, empty keywords
    packet, parsed = _meta(12, 4, 0x00FA, v5.META_OK, b"".join([
        h("03"),  # 3 past entries
        entry * 3,
        h("03"),  # 3 affiliation entries
        entry * 3,
        h("00 00"),  # 0
        h("01 00"),  # 1
        h("00"),  # 0
    ]))


class MetaPasswordReplyVector:
    """META reply 0x00AA: password set."""

    wire = dump("0000  05 00 00 FE CA AD 0B DE 03 0D 00 08 00 E9 03 00 00 A7 08 EB 04 AA 00 0A")
    r1, r2, cc = 7, 0x08, 0x04EB08A7
    packet, parsed = _meta(13, 8, 0x00AA, v5.META_OK, b"")


class MetaFoundVector:
    """META reply 0x019A: the last (and only) search result, length-word form."""

    wire = dump(
        "0000  05 00 00 FE CA AD 0B DE 03 0E 00 09 00 E9 03 00 00 95 09 36 0B 9A 01 0A",
        "0018  30 00 EA 03 00 00 04 00 42 6F 62 00 07 00 52 6F 62 65 72 74 00 06 00 53",
        "0030  6D 69 74 68 00 10 00 62 6F 62 40 65 78 61 6D 70 6C 65 2E 6F 72 67 00 00",
        "0048  01 00 00 00 00 00",
    )
    r1, r2, cc = 8, 0x09, 0x0B360995
    packet, parsed = _meta(14, 9, 0x019A, v5.META_OK, b"".join([
        h("30 00"),  # record length 48
        h("EA 03 00 00"),  # UIN 1002
        h("04 00") + b"Bob\x00",  # nick
        h("07 00") + b"Robert\x00",  # first
        h("06 00") + b"Smith\x00",  # last
        h("10 00") + b"bob@example.org\x00",  # e-mail (e-mail 2)
        h("00"),  # auth 0
        h("01"),  # web aware (licq: online status)
        h("00"),  # 0
        h("00 00 00 00"),  # "more" 0
    ]))


class MetaNotFoundVector:
    """META reply 0x019A with result 0x32: nothing found."""

    wire = dump("0000  05 00 00 FE CA AD 0B DE 03 0F 00 0A 00 E9 03 00 00 B8 0A 3A 0A 9A 01 32")
    r1, r2, cc = 9, 0x0A, 0x0A3A0AB8
    packet, parsed = _meta(15, 10, 0x019A, v5.META_FAIL, b"")


class UserStatusVector:
    """USER_STATUS: 1001 is away, seen by B."""

    wire = dump(
        "0000  05 00 00 33 33 22 22 A4 01 06 00 00 00 EA 03 00 00 9C DD 26 0C E9 03 00",
        "0018  00 01 00 00 00",
    )
    r1, r2, cc = 13, 0xDD, 0x0C26DD9C
    data = b"".join([
        h("E9 03 00 00"),  # UIN 1001
        h("01 00"),  # status away
        h("00 00"),  # flags 0
    ])
    packet = v5.ServerPacket(command=v5.SRV_USER_STATUS, seq1=6, seq2=0, data=data, **B)
    parsed = v5.UserStatus(1001, 1, 0)

    @staticmethod
    def build():
        data = v5.user_status(1001, 1, 0)
        return v5.ServerPacket(command=v5.SRV_USER_STATUS, seq1=6, seq2=0, data=data, **B)


class UserOfflineVector:
    """USER_OFFLINE: 1001 left, seen by B."""

    wire = dump(
        "0000  05 00 00 33 33 22 22 78 00 07 00 00 00 EA 03 00 00 E2 EE CF 0E E9 03 00",
        "0018  00",
    )
    r1, r2, cc = 14, 0xEE, 0x0ECFEEE2
    data = h("E9 03 00 00")  # UIN 1001
    packet = v5.ServerPacket(command=v5.SRV_USER_OFFLINE, seq1=7, seq2=0, data=data, **B)
    parsed = v5.UserOffline(1001)

    @staticmethod
    def build():
        data = v5.user_offline(1001)
        return v5.ServerPacket(command=v5.SRV_USER_OFFLINE, seq1=7, seq2=0, data=data, **B)


class MultiPacketVector:
    """MULTI_PACKET holding a USER_STATUS and a USER_OFFLINE."""

    wire = dump(
        "0000  05 00 00 33 33 22 22 12 02 08 00 00 00 EA 03 00 00 DD FE CC 0D 02 1D 00",
        "0018  05 00 00 33 33 22 22 A4 01 08 00 00 00 EA 03 00 00 84 00 C9 01 E9 03 00",
        "0030  00 00 00 00 00 19 00 05 00 00 33 33 22 22 78 00 08 00 00 00 EA 03 00 00",
        "0048  84 00 C9 00 EB 03 00 00",
    )
    r1, r2, cc = 15, 0xFE, 0x0DCCFEDD
    status = b"".join([
        h("05 00 00"),  # version 5, zero
        h("33 33 22 22"),  # B's session
        h("A4 01"),  # USER_STATUS
        h("08 00"),  # seq1 8, the outer packet's
        h("00 00"),  # seq2 0
        h("EA 03 00 00"),  # UIN 1002
        h("84 00 C9 01"),  # checkcode with r1 = r2 = 0
        h("E9 03 00 00"),  # UIN 1001
        h("00 00"),  # status online
        h("00 00"),  # flags 0
    ])
    offline = b"".join([
        h("05 00 00"),  # version 5, zero
        h("33 33 22 22"),  # B's session
        h("78 00"),  # USER_OFFLINE
        h("08 00"),  # seq1 8, the outer packet's
        h("00 00"),  # seq2 0
        h("EA 03 00 00"),  # UIN 1002
        h("84 00 C9 00"),  # checkcode with r1 = r2 = 0
        h("EB 03 00 00"),  # UIN 1003
    ])
    data = b"".join([
        h("02"),  # 2 sub-packets
        h("1D 00"),  # length 29
        status,
        h("19 00"),  # length 25
        offline,
    ])
    packet = v5.ServerPacket(command=v5.SRV_MULTI_PACKET, seq1=8, seq2=0, data=data, **B)
    parsed = v5.MultiPacket((status, offline))

    @staticmethod
    def build():
        inner = [
            v5.ServerPacket(command=v5.SRV_USER_STATUS, seq1=8, seq2=0,
                            data=v5.user_status(1001, 0, 0), **B),
            v5.ServerPacket(command=v5.SRV_USER_OFFLINE, seq1=8, seq2=0,
                            data=v5.user_offline(1003), **B),
        ]
        data = v5.multi_packet([v5.encode_server(p) for p in inner])
        return v5.ServerPacket(command=v5.SRV_MULTI_PACKET, seq1=8, seq2=0, data=data, **B)


class RegistrationAckVector:
    """The ACK variant answering an automatic registration."""

    wire = dump(
        "0000  05 00 00 67 45 23 01 0A 00 00 20 01 00 00 00 00 00 9E 01 BA 01 0A 61 24",
        "0018  00 00",
    )
    r1, r2, cc = 1, 0x01, 0x01BA019E
    data = b"".join([
        h("0A"),  # ok
        h("61 24 00 00"),  # X2 echoed
    ])
    packet = v5.ServerPacket(0x01234567, v5.SRV_ACK, 0x2000, 1, 0, data)

    @staticmethod
    def build():
        return v5.ack_for(RegisterVector.packet, v5.registration_ack(True, 0x2461))


SERVER_VECTORS = [
    AckLoginVector,
    HelloVector,
    AckContactListVector,
    UserOnlineVector,
    ContactListDoneVector,
    OfflineMessageVector,
    EndOfflineVector,
    BusyVector,
    LoginErrVector,
    NotConnectedVector,
    AckMessageVector,
    OnlineMessageVector,
    AckMetaVector,
    MetaGeneralVector,
    MetaMoreVector,
    MetaHomepageVector,
    MetaWorkVector,
    MetaAboutVector,
    MetaInterestsVector,
    MetaAffiliationsVector,
    MetaPasswordReplyVector,
    MetaFoundVector,
    MetaNotFoundVector,
    UserStatusVector,
    UserOfflineVector,
    MultiPacketVector,
    RegistrationAckVector,
]


class ServerVectorMixin:
    """
    Checks one server vector; C{vector} names it.
    """

    vector = None

    def test_encode(self):
        """encode_server with the vector's r1/r2 gives the datagram byte for byte."""
        v = self.vector
        self.assertEqual(v5.encode_server(v.packet, v.r1, v.r2), v.wire)

    def test_checkcode(self):
        """The checkcode at 0x11 is the documented value, unscrambled."""
        v = self.vector
        self.assertEqual(int.from_bytes(v.wire[0x11:0x15], "little"), v.cc)
        hashed = v.wire[:0x11] + bytes(4) + v.wire[0x15:]
        self.assertEqual(v5.checkcode(hashed, v.r1, v.r2), v.cc)

    def test_decode(self):
        """decode_server recovers every header field and the parameters."""
        self.assertEqual(v5.decode_server(self.vector.wire), self.vector.packet)


class ServerBuilderMixin:
    """
    Checks the module's builders against a server vector.
    """

    def test_build(self):
        """The module's builder produces the same packet."""
        self.assertEqual(self.vector.build(), self.vector.packet)


class ServerParseMixin:
    """
    Checks the parameter codec of a server vector.
    """

    def test_parse(self):
        """The parameters parse to the documented fields and build back."""
        parsed = self.vector.parsed
        data = self.vector.packet.data
        self.assertEqual(type(parsed).parse(data), parsed)
        self.assertEqual(parsed.build(), data)


for _vector in SERVER_VECTORS:
    _mixins = [ServerVectorMixin]
    if hasattr(_vector, "build"):
        _mixins.append(ServerBuilderMixin)
    if hasattr(_vector, "parsed"):
        _mixins.append(ServerParseMixin)
    _case = _vectorTests(_vector, *_mixins)
    globals()[_case.__name__] = _case
del _vector, _mixins, _case


class V3ReplyTests(unittest.TestCase):
    """
    The v3-format packets a v5 server sends (sections 2.3, 9.4, 9.9, 17).
    """

    badPassword = b"".join([
        h("03 00"),  # version 3
        h("64 00"),  # command BAD_PASSWORD
        h("00 00"),  # seq1
        h("01 00"),  # seq2, copied from the LOGIN
        h("E9 03 00 00"),  # UIN 1001
        h("00 00 00 00"),  # checkcode / unused
        h("00 00"),  # 0
    ])

    newUin = b"".join([
        h("03 00"),  # version 3
        h("46 00"),  # command NEW_UIN
        h("00 00"),  # seq1
        h("01 00"),  # seq2, copied from the request
        h("EC 03 00 00"),  # the new UIN 1004
        h("00 00 00 00"),  # checkcode / unused
        h("61 24 00 00"),  # X2 echoed
    ])

    def test_badPassword(self):
        """BAD_PASSWORD is the 18-byte v3 packet of section 3.2."""
        self.assertEqual(
            dump("0000  03 00 64 00 00 00 01 00 E9 03 00 00 00 00 00 00 00 00"),
            self.badPassword,
        )
        self.assertEqual(v5.bad_password(1, 1001), self.badPassword)

    def test_newUin(self):
        """NEW_UIN is the 20-byte v3 packet of section 3.9."""
        self.assertEqual(
            dump("0000  03 00 46 00 00 00 01 00 EC 03 00 00 00 00 00 00 61 24 00 00"),
            self.newUin,
        )
        self.assertEqual(v5.new_uin(1, 1004, 0x2461), self.newUin)
        self.assertEqual(
            v5.encode_v3_reply(v5.SRV_NEW_UIN, 1, 1004, h("61 24 00 00")), self.newUin
        )

    def test_decodeV3(self):
        """decode_server accepts v3 packets and marks them as version 3."""
        packet = v5.decode_server(self.newUin)
        self.assertEqual(
            packet, v5.ServerPacket(0, v5.SRV_NEW_UIN, 0, 1, 1004, h("61 24 00 00"), 3)
        )
        self.assertEqual(v5.decode_server(self.badPassword).version, v5.V3_VERSION)
        self.assertEqual(v5.decode_server(self.badPassword).command, v5.SRV_BAD_PASSWORD)

    def test_encodeV3RoundTrip(self):
        """encode_server writes a version-3 ServerPacket in the v3 layout."""
        packet = v5.decode_server(self.badPassword)
        self.assertEqual(v5.encode_server(packet, 5, 5), self.badPassword)

    def test_depsList(self):
        """The department list reply is v3 command 0x0032 with a fixed DWORD."""
        self.assertEqual(
            v5.deps_list(3, 1001),
            h("03 00 32 00 00 00 03 00 E9 03 00 00 00 00 00 00 BF AC FC 8F"),
        )


# --- table, scrambling and keys (section 1 of the vectors) -----------------


class TableTests(unittest.TestCase):
    """
    The 256-byte table of section 5.1.
    """

    table = dump(
        "0000  59 60 37 6B 65 62 46 48 53 61 4C 59 60 57 5B 3D 5E 34 6D 36 50 3F 6F 67",
        "0018  53 61 4C 59 40 47 63 39 50 5F 5F 3F 6F 47 43 69 48 33 31 64 35 5A 4A 42",
        "0030  56 40 67 53 41 07 6C 49 58 3B 4D 46 68 43 69 48 33 31 44 65 62 46 48 53",
        "0048  41 07 6C 69 48 33 51 54 5D 4E 6C 49 38 4B 55 4A 62 46 48 33 51 34 6D 36",
        "0060  50 5F 5F 5F 3F 6F 47 63 59 40 67 33 31 64 35 5A 6A 52 6E 3C 51 34 6D 36",
        "0078  50 5F 5F 3F 4F 37 4B 35 5A 4A 62 66 58 3B 4D 66 58 5B 5D 4E 6C 49 58 3B",
        "0090  4D 66 58 3B 4D 46 48 53 61 4C 59 40 67 33 31 64 55 6A 32 3E 44 45 52 6E",
        "00A8  3C 31 64 55 6A 52 4E 6C 69 48 53 61 4C 39 30 6F 47 63 59 60 57 5B 3D 3E",
        "00C0  64 35 3A 3A 5A 6A 52 4E 6C 69 48 53 61 6C 49 58 3B 4D 46 68 63 39 50 5F",
        "00D8  5F 3F 6F 67 53 41 25 41 3C 51 54 3D 5E 54 5D 4E 4C 39 50 5F 5F 5F 3F 6F",
        "00F0  47 43 69 48 33 51 54 5D 6E 3C 31 64 35 5A 00 00",
    )

    def test_table(self):
        """TABLE is the 256 bytes of section 5.1."""
        self.assertEqual(len(v5.TABLE), 256)
        self.assertEqual(v5.TABLE, self.table)

    def test_workedExampleEntries(self):
        """The entries the worked example of section 1.2 uses."""
        self.assertEqual(
            [v5.TABLE[i] for i in (0x5A, 10, 14, 18, 22, 26)],
            [0x48, 0x4C, 0x5B, 0x6D, 0x6F, 0x4C],
        )


class ScrambleTests(unittest.TestCase):
    """
    The checkcode bit permutation of section 5.5.
    """

    examples = [
        (0x00000001, 0x00001000),
        (0x00000020, 0x00000040),
        (0x80000000, 0x00200000),
        (0x12345678, 0x544584E9),
        (0x18CC5AF7, 0x598775D8),  # vector C1
    ]

    def test_examples(self):
        """scramble maps the examples of section 1.1 and descramble undoes it."""
        for cc, s in self.examples:
            self.assertEqual(v5.scramble(cc), s)
            self.assertEqual(v5.descramble(s), cc)

    def test_edges(self):
        """descramble(scramble(x)) = x for the documented edge values."""
        for x in (0, 0xFFFFFFFF, 0x80000001, 0xDEADBEEF):
            self.assertEqual(v5.descramble(v5.scramble(x)), x)

    def test_singleBits(self):
        """Every bit maps to exactly one bit: the masks cover 32 bits once."""
        images = {v5.scramble(1 << bit) for bit in range(32)}
        self.assertEqual(images, {1 << bit for bit in range(32)})

    @given(st.integers(0, 0xFFFFFFFF))
    def test_inverse(self, x):
        """scramble and descramble are inverse bijections on 32-bit values."""
        self.assertEqual(v5.descramble(v5.scramble(x)), x)
        self.assertEqual(v5.scramble(v5.descramble(x)), x)


class WorkedExampleTests(unittest.TestCase):
    """
    The step-by-step example of section 1.2 (vector C1).
    """

    def test_checkcodeSteps(self):
        """A, B and CC come out as in the worked example."""
        plain = C1Ping.plain
        a = (plain[8] << 24) | (plain[4] << 16) | (plain[2] << 8) | plain[6]
        self.assertEqual(a, 0x01000040)
        self.assertEqual(plain[25], 0x33)
        b = (25 << 24) | (0x33 << 16) | (0x5A << 8) | v5.TABLE[0x5A]
        self.assertEqual(b, 0x19335A48)
        self.assertEqual(a ^ b ^ 0x00FF00FF, 0x18CC5AF7)
        self.assertEqual(v5.checkcode(plain, 25, 0x5A), 0x18CC5AF7)

    def test_key(self):
        """L x 0x68656C6C and KEY match the worked example."""
        self.assertEqual((28 * 0x68656C6C) & 0xFFFFFFFF, 0x6B17DBD0)
        self.assertEqual(v5.key(28, 0x18CC5AF7), 0x83E436C7)

    def test_stream(self):
        """The XOR stream of a zero packet is the worked example's K words, 20-23 skipped."""
        stream = v5.crypt(bytes(28), 0x83E436C7)
        self.assertEqual(
            stream,
            bytes(10)
            + h("13 37 E4 83")  # i = 10
            + h("22 37 E4 83")  # i = 14
            + h("34 37")  # i = 18, bytes 20-21 skipped
            + bytes(4)  # the checkcode field
            + h("E4 83")  # i = 22, bytes 24-25
            + h("13 37"),  # i = 26, bytes 26-27
        )


# --- edge cases (section 4 of the vectors) ---------------------------------


class ClientEdgeCaseTests(unittest.TestCase):
    """
    Decoder edge cases of v5-vectors.md section 4 and the header checks.
    """

    def test_short(self):
        """A client datagram shorter than 24 bytes is malformed."""
        for n in range(24):
            self.assertRaises(MalformedPacket, v5.decode_client, C1Ping.wire[:n])

    def test_otherVersions(self):
        """Version 3 and the admin protocol's 0x2121 are not v5 client packets."""
        for first in (h("03 00"), h("21 21"), h("04 00")):
            wire = first + C1Ping.wire[2:]
            self.assertRaises(MalformedPacket, v5.decode_client, wire, verify=False)

    def test_zeroField(self):
        """A non-zero ZERO DWORD (a server packet, say) is malformed."""
        wire = C1Ping.wire[:2] + h("00 00 00 01") + C1Ping.wire[6:]
        self.assertRaises(MalformedPacket, v5.decode_client, wire, verify=False)
        self.assertRaises(MalformedPacket, v5.decode_client, HelloVector.wire)

    def test_badCheckcode(self):
        """A checkcode whose T[r2] byte does not match is dropped only when verifying."""
        cc = C1Ping.cc ^ 0x01
        wire = C1Ping.wire[:20] + v5.scramble(cc).to_bytes(4, "little") + C1Ping.wire[24:]
        self.assertFalse(v5.checkcode_ok(wire, cc))
        self.assertRaises(MalformedPacket, v5.decode_client, wire)
        self.assertIsInstance(v5.decode_client(wire, verify=False), v5.ClientPacket)

    def test_strictCheckcode(self):
        """The strict test also checks P[r1], which the lenient one leaves alone."""
        plain = bytearray(C1Ping.plain)
        plain[25] ^= 0xFF
        self.assertTrue(v5.checkcode_ok(bytes(plain), C1Ping.cc))
        self.assertFalse(v5.checkcode_ok(bytes(plain), C1Ping.cc, strict=True))

    def test_partialBlock(self):
        """A datagram of 10 + 4k + 3 bytes gets a prefix of the full block's stream."""
        data = C7VisibleList.plain
        self.assertEqual(len(data), 29)
        self.assertEqual(
            v5.crypt(data, 0x12345678), v5.crypt(data + bytes(3), 0x12345678)[:29]
        )

    def test_headerOnly(self):
        """A 24-byte client packet decrypts to its header and no data."""
        plain = b"".join([
            h("05 00"),  # version 5
            h("00 00 00 00"),  # zero
            h("E9 03 00 00"),  # UIN 1001
            h("FE CA AD 0B"),  # session id
            h("2E 04"),  # KEEP_ALIVE
            h("09 01"),  # seq1
            h("00 00"),  # seq2
            h("00 00 00 00"),  # checkcode field
        ])
        cc = v5.checkcode(plain, 16, 0x20)
        wire = bytearray(v5.crypt(plain, v5.key(24, cc)))
        self.assertEqual(wire[:10] + wire[20:], plain[:10] + plain[20:])
        wire[20:24] = v5.scramble(cc).to_bytes(4, "little")
        self.assertEqual(
            v5.decode_client(bytes(wire)),
            v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_KEEP_ALIVE, 0x0109, 0),
        )

    def test_shortCrypt(self):
        """crypt leaves a buffer of ten bytes or fewer alone."""
        for n in range(11):
            self.assertEqual(v5.crypt(bytes(range(n)), 0xFFFFFFFF), bytes(range(n)))

    def test_encodePadsEmpty(self):
        """encode_client pads a packet without data to 28 bytes, like licq."""
        packet = v5.ClientPacket(1001, 0x0BADCAFE, v5.CMD_KEEP_ALIVE, 7, 0)
        wire = v5.encode_client(packet)
        self.assertEqual(len(wire), 28)
        self.assertEqual(v5.decode_client(wire), replace(packet, data=bytes(4)))

    def test_encodeDefaults(self):
        """The default r1/r2 give a checkcode that passes the strict test."""
        wire = v5.encode_client(C4Message.packet)
        cc = v5.descramble(int.from_bytes(wire[20:24], "little"))
        self.assertEqual(cc, v5.checkcode(C4Message.plain, 24, 0))
        plain = v5.crypt(wire, v5.key(len(wire), cc))
        self.assertTrue(v5.checkcode_ok(plain, cc, strict=True))

    def test_checkcodeArguments(self):
        """checkcode rejects an r1 outside the packet and an r2 above 255."""
        self.assertRaises(ValueError, v5.checkcode, C1Ping.plain, 28, 0)
        self.assertRaises(ValueError, v5.checkcode, C1Ping.plain, -1, 0)
        self.assertRaises(ValueError, v5.checkcode, C1Ping.plain, 0, 256)
        self.assertRaises(ValueError, v5.checkcode, b"\x05\x00", 0, 0)

    def test_largeR1(self):
        """A position past 255 enters the checkcode with its low byte only."""
        plain = C1Ping.plain[:24] + bytes(range(256)) * 2
        cc = v5.checkcode(plain, 300, 7)
        self.assertEqual(cc >> 24, (300 & 0xFF) ^ 0x01)  # A's top byte is P[8] = 1
        self.assertEqual((cc >> 16) & 0xFF, plain[300] ^ 0xFF)


class ServerEdgeCaseTests(unittest.TestCase):
    """
    decode_server's header checks and encode_server's arguments.
    """

    def test_short(self):
        """Truncated v5 and v3 headers are malformed."""
        for n in range(21):
            self.assertRaises(MalformedPacket, v5.decode_server, BusyVector.wire[:n])
        for n in range(16):
            self.assertRaises(
                MalformedPacket, v5.decode_server, V3ReplyTests.badPassword[:n]
            )

    def test_unknownVersion(self):
        """Versions other than 3 and 5 are malformed."""
        self.assertRaises(MalformedPacket, v5.decode_server, h("21 21") + bytes(30))

    def test_zeroByte(self):
        """A v5 server header needs its ZERO byte to be zero."""
        wire = BusyVector.wire[:2] + b"\x01" + BusyVector.wire[3:]
        self.assertRaises(MalformedPacket, v5.decode_server, wire)

    def test_unknownEncodeVersion(self):
        """encode_server refuses versions it has no layout for."""
        packet = v5.ServerPacket(1, v5.SRV_ACK, 0, 0, 1, version=4)
        self.assertRaises(ValueError, v5.encode_server, packet)

    def test_checkcodeOnItsOwnField(self):
        """An r1 pointing into the checkcode field hashes it as zero."""
        wire = v5.encode_server(BusyVector.packet, 18, 3)
        hashed = wire[:0x11] + bytes(4)
        self.assertEqual(int.from_bytes(wire[0x11:], "little"), v5.checkcode(hashed, 18, 3))

    def test_ackFor(self):
        """ack_for copies session, SEQ1, SEQ2 and UIN from the client packet."""
        packet = v5.ClientPacket(7, 9, v5.CMD_LOGIN, 11, 13, b"x")
        self.assertEqual(v5.ack_for(packet), v5.ServerPacket(9, v5.SRV_ACK, 11, 13, 7))

    def test_firstLoginReply(self):
        """The FIRST_LOGIN reply is a 28-byte ACK carrying 0A, the value and 01 00."""
        request = v5.ClientPacket(1001, 5, v5.CMD_FIRST_LOGIN, 3, 4, h("44 33 22 11"))
        value = v5.FirstLogin.parse(request.data).value
        wire = v5.encode_server(v5.ack_for(request, v5.first_login_reply(value)))
        self.assertEqual(len(wire), 28)
        self.assertEqual(wire[21:], h("0A 44 33 22 11 01 00"))

    def test_loginMetaReply(self):
        """The 0x001E reply data are IServerd's six fixed bytes."""
        self.assertEqual(v5.LOGIN_META_REPLY, h("D0 07 00 00 46 00"))


# --- parameter behaviour beyond the vectors --------------------------------


class LoginRequestTests(unittest.TestCase):
    """
    LOGIN parameters (section 9.1).
    """

    def test_missingTail(self):
        """Fields missing after the password read as 0."""
        data = C2Login.packet.data
        parsed = v5.LoginRequest.parse(data[:17])
        self.assertEqual(parsed.password, b"secret")
        self.assertEqual(
            (parsed.internal_ip, parsed.dc_type, parsed.status, parsed.tcp_version,
             parsed.web_port, parsed.client_features),
            ("0.0.0.0", 0, 0, 0, 0, 0),
        )

    def test_partialTail(self):
        """A field cut in the middle reads its present bytes, then zeros."""
        data = C2Login.packet.data
        parsed = v5.LoginRequest.parse(data[:0x2F - 24])  # IP cut after 2 bytes
        self.assertEqual(parsed.internal_ip, "192.168.0.0")
        self.assertEqual(parsed.dc_type, 0)

    def test_extraTrailing(self):
        """licq's extra trailing DWORD is ignored."""
        data = C2Login.packet.data + bytes(4)
        self.assertEqual(v5.LoginRequest.parse(data), C2Login.params)

    def test_passwordPastEnd(self):
        """A password length that runs past the end is malformed."""
        data = h("00 00 00 00 00 00 00 00 10 00") + b"secret"
        self.assertRaises(MalformedPacket, v5.LoginRequest.parse, data)

    def test_passwordLimit(self):
        """A 20-byte password is accepted; a longer one is malformed."""
        head = bytes(8)
        ok = head + lnts(b"p" * 20)
        self.assertEqual(v5.LoginRequest.parse(ok).password, b"p" * 20)
        self.assertRaises(MalformedPacket, v5.LoginRequest.parse, head + lnts(b"p" * 21))

    def test_missingHead(self):
        """Without TIME, TCP_PORT and PASSWORD there is no login."""
        for n in range(10):
            self.assertRaises(MalformedPacket, v5.LoginRequest.parse, C2Login.packet.data[:n])


class ParameterTests(unittest.TestCase):
    """
    Client parameter codecs beyond the vectors.
    """

    def test_messageWithoutNul(self):
        """An LNTS without its NUL is accepted as it is."""
        data = h("EA 03 00 00 01 00 05 00") + b"Hello"
        self.assertEqual(v5.SendMessage.parse(data), v5.SendMessage(1002, 1, b"Hello"))

    def test_messageWithoutText(self):
        """A message without any text reads as empty ("you were added")."""
        self.assertEqual(v5.SendMessage.parse(h("EA 03 00 00 0C 00")).text, b"")

    def test_messagePastEnd(self):
        """A message text that runs past the end is malformed."""
        data = h("EA 03 00 00 01 00 00 01") + b"Hello\x00"
        self.assertRaises(MalformedPacket, v5.SendMessage.parse, data)

    def test_listCountTooBig(self):
        """A UIN count larger than the data is malformed."""
        self.assertRaises(MalformedPacket, v5.UinList.parse, h("03 EA 03 00 00 EB 03 00 00"))
        self.assertRaises(MalformedPacket, v5.UinList.parse, b"")

    def test_listTrailing(self):
        """Bytes after the counted UINs are ignored."""
        self.assertEqual(v5.UinList.parse(h("01 EA 03 00 00 FF")), v5.UinList([1002]))

    def test_listBuildLimit(self):
        """More than 255 UINs cannot be encoded in one packet."""
        self.assertRaises(ValueError, v5.UinList(range(256)).build)

    def test_statusChange(self):
        """Status and flags are two WORDs; absent flags read as 0."""
        self.assertEqual(v5.StatusChange.parse(h("11 00 01 00")), v5.StatusChange(0x11, 1))
        self.assertEqual(v5.StatusChange.parse(h("11 00")), v5.StatusChange(0x11, 0))
        self.assertEqual(v5.StatusChange(0x11, 1).build(), h("11 00 01 00"))
        self.assertRaises(MalformedPacket, v5.StatusChange.parse, h("11"))

    def test_logoffText(self):
        """Only B_USER_DISCONNECTED, in any case, is a logoff."""
        self.assertTrue(v5.Logoff.parse(lnts(b"b_user_Disconnected")).ok)
        self.assertFalse(v5.Logoff.parse(lnts(b"B_USER_DISCONNECTED!")).ok)
        self.assertFalse(v5.Logoff(b"").ok)
        self.assertRaises(MalformedPacket, v5.Logoff.parse, b"")

    def test_addToList(self):
        """ADD_TO_LIST is one UIN."""
        self.assertEqual(v5.AddToList.parse(h("EA 03 00 00 00")), v5.AddToList(1002))
        self.assertEqual(v5.AddToList(1002).build(), h("EA 03 00 00"))

    def test_updateList(self):
        """UPDATE_LIST is UIN, list type and action."""
        data = h("EA 03 00 00 02 01")
        parsed = v5.UpdateList.parse(data)
        self.assertEqual(parsed, v5.UpdateList(1002, v5.LIST_VISIBLE, v5.LIST_ACTION_ADD))
        self.assertEqual(parsed.build(), data)
        self.assertRaises(MalformedPacket, v5.UpdateList.parse, data[:5])

    def test_firstLogin(self):
        """FIRST_LOGIN carries one DWORD."""
        self.assertEqual(v5.FirstLogin.parse(h("01 02 03 04")).value, 0x04030201)
        self.assertRaises(MalformedPacket, v5.FirstLogin.parse, h("01 02 03"))

    def test_metaTarget(self):
        """target_uin is the DWORD after the sub-command, or 0 without one."""
        self.assertEqual(C5MetaInfo.params.target_uin, 1002)
        self.assertEqual(v5.MetaRequest(0x042E, b"").target_uin, 0)
        self.assertRaises(MalformedPacket, v5.MetaRequest.parse, h("CF"))

    def test_registerWithEmail(self):
        """A registration with an e-mail LNTS keeps the address."""
        request = v5.RegisterRequest(b"pw", 0xA0, 0x2461, b"a@example.org")
        self.assertEqual(v5.RegisterRequest.parse(request.build()), request)

    def test_registerShort(self):
        """Missing X1/X2/e-mail read as 0 and empty."""
        self.assertEqual(
            v5.RegisterRequest.parse(lnts(b"pw")), v5.RegisterRequest(b"pw", 0, 0, b"")
        )

    def test_getDeps(self):
        """GET_DEPS is UIN, password and client version."""
        request = v5.GetDeps(1001, b"secret", 0x12)
        self.assertEqual(v5.GetDeps.parse(request.build()), request)


class ServerParameterTests(unittest.TestCase):
    """
    Server parameter builders beyond the vectors.
    """

    def test_helloLength(self):
        """HELLO parameters are 20 bytes and a short ping time does not go negative."""
        self.assertEqual(len(v5.hello(5, 10, 5, "10.0.0.1")), 20)
        self.assertEqual(v5.Hello.parse(v5.hello(5, 10, 5, "10.0.0.1")).keepalive, 0)

    def test_userOnlineLength(self):
        """USER_ONLINE parameters are 49 bytes; a bad IP becomes 0.0.0.0."""
        data = v5.user_online(1, None, 0, "not an ip", 0, 0)
        self.assertEqual(len(data), 49)
        self.assertEqual(v5.UserOnline.parse(data).internal_ip, "0.0.0.0")
        self.assertRaises(MalformedPacket, v5.UserOnline.parse, data[:48])

    def test_offlineTimeConversion(self):
        """An aware time is converted to UTC; naive times and tuples are taken as UTC."""
        cet = timezone(timedelta(hours=1))
        expected = OfflineMessageVector.packet.data
        aware = datetime(2001, 4, 23, 11, 15, 59, tzinfo=cet)
        for when in (aware, datetime(2001, 4, 23, 10, 15), (2001, 4, 23, 10, 15)):
            self.assertEqual(v5.offline_message(1003, when, 1, b"Are you there?"), expected)

    def test_offlineWhen(self):
        """OfflineMessage.when gives the five calendar fields."""
        self.assertEqual(OfflineMessageVector.parsed.when, (2001, 4, 23, 10, 15))

    def test_loginErrTrailer(self):
        """LOGIN_ERR ends with a DWORD 0 after the text; parsing tolerates its absence."""
        self.assertEqual(v5.login_err(b"x"), h("02 00 78 00 00 00 00 00"))
        self.assertEqual(v5.LoginErr.parse(h("02 00 78 00")), v5.LoginErr(b"x"))

    def test_metaReplyDefaults(self):
        """meta_reply defaults to success with no data."""
        self.assertEqual(v5.meta_reply(0x00AA), h("AA 00 0A"))

    def test_multiPacketBounds(self):
        """Sub-packets must fit their WORD lengths and count byte."""
        self.assertRaises(ValueError, v5.multi_packet, [bytes(0x10000)])
        self.assertRaises(ValueError, v5.multi_packet, [b""] * 256)
        self.assertRaises(MalformedPacket, v5.MultiPacket.parse, h("01 05 00 01 02"))

    def test_multiPacketDecodes(self):
        """Each sub-packet of the multi-packet vector decodes as a server packet."""
        inner = v5.MultiPacket.parse(MultiPacketVector.packet.data).packets
        decoded = [v5.decode_server(p) for p in inner]
        self.assertEqual([p.command for p in decoded], [v5.SRV_USER_STATUS, v5.SRV_USER_OFFLINE])
        self.assertEqual({p.seq1 for p in decoded}, {8})


class ConstantTests(unittest.TestCase):
    """
    Command codes of section 8.
    """

    def test_clientCodes(self):
        """The client command constants carry the codes of section 8.1."""
        expected = {
            "ACK": 0x000A, "SEND_MESSAGE": 0x010E, "LOGIN": 0x03E8,
            "GET_DEPS": 0x03F2, "REG_NEW_USER": 0x03FC, "CONTACT_LIST": 0x0406,
            "SEARCH_UIN": 0x041A, "SEARCH_USER": 0x0424, "KEEP_ALIVE": 0x042E,
            "LOGOFF": 0x0438, "ACK_MESSAGES": 0x0442, "SYSMSG_REQ": 0x044C,
            "MSG_TO_NEW_USER": 0x0456, "INFO_REQ": 0x0460, "EXT_INFO_REQ": 0x046A,
            "STATUS_CHANGE": 0x04D8, "FIRST_LOGIN": 0x04EC, "KEEP_ALIVE2": 0x051E,
            "ADD_TO_LIST": 0x053C, "META_USER": 0x064A, "INVIS_LIST": 0x06A4,
            "VIS_LIST": 0x06AE, "UPDATE_LIST": 0x06B8,
        }
        for name, code in expected.items():
            self.assertEqual(getattr(v5, "CMD_" + name), code, name)
            self.assertEqual(v5.CLIENT_COMMAND_NAMES[code], name)
        self.assertEqual(len(v5.CLIENT_COMMAND_NAMES), 34)

    def test_serverCodes(self):
        """The server command constants carry the codes of section 8.2."""
        expected = {
            "ACK": 0x000A, "HELLO": 0x005A, "BAD_PASSWORD": 0x0064,
            "USER_ONLINE": 0x006E, "USER_OFFLINE": 0x0078, "OFFLINE_MESSAGE": 0x00DC,
            "END_OFFLINE_MESSAGES": 0x00E6, "NOT_CONNECTED": 0x00F0, "BUSY": 0x00FA,
            "ONLINE_MESSAGE": 0x0104, "USER_STATUS": 0x01A4, "MULTI_PACKET": 0x0212,
            "CONTACT_LIST_DONE": 0x021C, "LOGIN_ERR": 0x0370, "META_USER": 0x03DE,
            "GO_AWAY": 0x0028, "NEW_UIN": 0x0046,
        }
        for name, code in expected.items():
            self.assertEqual(getattr(v5, "SRV_" + name), code, name)
            self.assertEqual(v5.SERVER_COMMAND_NAMES[code], name)


# --- properties ------------------------------------------------------------

PARSERS = [
    v5.LoginRequest,
    v5.RegisterRequest,
    v5.GetDeps,
    v5.SendMessage,
    v5.UinList,
    v5.AddToList,
    v5.UpdateList,
    v5.StatusChange,
    v5.Logoff,
    v5.FirstLogin,
    v5.MetaRequest,
    v5.Hello,
    v5.UserOnline,
    v5.UserOffline,
    v5.UserStatus,
    v5.OnlineMessage,
    v5.OfflineMessage,
    v5.ContactListDone,
    v5.LoginErr,
    v5.MetaReply,
    v5.MultiPacket,
]

# Valid parameter blocks to mutate: every vector's data plus a few built ones.
VALID_DATA = sorted(
    {v.packet.data for v in CLIENT_VECTORS + SERVER_VECTORS}
    | {
        v5.StatusChange(0x13, 3).build(),
        v5.UpdateList(5, 1, 0).build(),
        v5.GetDeps(1001, b"pw", 3).build(),
        v5.RegisterRequest(b"pw", 1, 2, b"e@x").build(),
    }
)
VALID_CLIENT = [v.wire for v in CLIENT_VECTORS]
VALID_SERVER = [v.wire for v in SERVER_VECTORS] + [
    V3ReplyTests.badPassword,
    V3ReplyTests.newUin,
]


@st.composite
def mutated(draw, valid):
    """
    A valid byte string with bit flips, a truncation or an extension.
    """
    data = bytearray(draw(st.sampled_from(valid)))
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "mixed"]))
    if kind in ("flip", "mixed") and data:
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    if kind in ("truncate", "mixed"):
        del data[draw(st.integers(0, len(data))) :]
    if kind in ("extend", "mixed"):
        data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def survives(function, data, *args):
    """
    Call a decoder; a L{MalformedPacket} is fine, anything else escapes.
    """
    try:
        return function(data, *args)
    except MalformedPacket:
        return None


FUZZ = settings(max_examples=500)


class RobustnessTests(unittest.TestCase):
    """
    Decoders raise only MalformedPacket, whatever the bytes.
    """

    @FUZZ
    @given(st.binary(max_size=300), st.booleans())
    def test_randomClient(self, data, verify):
        """Random bytes into decode_client decode or raise MalformedPacket."""
        survives(v5.decode_client, data, verify)

    @FUZZ
    @given(st.binary(min_size=18, max_size=300))
    def test_randomClientWithHeader(self, body):
        """Any bytes after a v5 client prefix decode when not verifying."""
        packet = v5.decode_client(h("05 00 00 00 00 00") + body, False)
        self.assertEqual(len(packet.data), len(body) - 18)

    @FUZZ
    @given(mutated(VALID_CLIENT), st.booleans())
    def test_mutatedClient(self, data, verify):
        """Mutated client datagrams decode or raise MalformedPacket, and so do their parameters."""
        packet = survives(v5.decode_client, data, verify)
        if packet is not None:
            for parser in PARSERS:
                survives(parser.parse, packet.data)

    @FUZZ
    @given(st.binary(max_size=300))
    def test_randomServer(self, data):
        """Random bytes into decode_server decode or raise MalformedPacket."""
        survives(v5.decode_server, data)

    @FUZZ
    @given(mutated(VALID_SERVER))
    def test_mutatedServer(self, data):
        """Mutated server datagrams decode or raise MalformedPacket, and so do their parameters."""
        packet = survives(v5.decode_server, data)
        if packet is not None:
            for parser in PARSERS:
                survives(parser.parse, packet.data)

    @FUZZ
    @given(st.binary(max_size=200))
    def test_randomParameters(self, data):
        """Random bytes into every parameter parser parse or raise MalformedPacket."""
        for parser in PARSERS:
            survives(parser.parse, data)

    @FUZZ
    @given(mutated(VALID_DATA))
    def test_mutatedParameters(self, data):
        """Mutated valid parameters into every parser parse or raise MalformedPacket."""
        for parser in PARSERS:
            survives(parser.parse, data)


u8s = st.integers(0, 0xFF)
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFFFFFF)
texts = st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b""))
ips = st.tuples(u8s, u8s, u8s, u8s).map(lambda t: "%d.%d.%d.%d" % t)


class RoundTripTests(unittest.TestCase):
    """
    What is encoded decodes to the same value.
    """

    @given(u32s, u32s, u16s, u16s, u16s, st.binary(min_size=1, max_size=300), st.data())
    def test_client(self, uin, session, command, seq1, seq2, data, draw):
        """encode_client then decode_client returns the packet, for any valid r1/r2."""
        packet = v5.ClientPacket(uin, session, command, seq1, seq2, data)
        r1 = draw.draw(st.integers(0, 23 + len(data)))
        r2 = draw.draw(u8s)
        self.assertEqual(v5.decode_client(v5.encode_client(packet, r1, r2)), packet)

    @given(st.binary(max_size=300), u32s)
    def test_cryptSelfInverse(self, data, key):
        """crypt is its own inverse and keeps the length."""
        once = v5.crypt(data, key)
        self.assertEqual(len(once), len(data))
        self.assertEqual(v5.crypt(once, key), data)

    @given(u32s, u16s, u16s, u16s, u32s, st.binary(max_size=300), st.integers(0, 20), u8s)
    def test_server(self, session, command, seq1, seq2, uin, data, r1, r2):
        """encode_server then decode_server returns the packet."""
        packet = v5.ServerPacket(session, command, seq1, seq2, uin, data)
        self.assertEqual(v5.decode_server(v5.encode_server(packet, r1, r2)), packet)

    @given(u16s, u16s, u32s, st.binary(max_size=100))
    def test_v3(self, command, seq2, uin, data):
        """encode_v3_reply then decode_server returns a version-3 packet."""
        decoded = v5.decode_server(v5.encode_v3_reply(command, seq2, uin, data))
        self.assertEqual(decoded, v5.ServerPacket(0, command, 0, seq2, uin, data, 3))

    @given(st.one_of(
        st.builds(v5.LoginRequest, u32s, u32s, texts.map(lambda b: b[:20]), ips, u8s,
                  u16s, u16s, u16s, u32s, u32s, u32s, u32s, u32s, u32s, u32s),
        st.builds(v5.RegisterRequest, texts, u32s, u32s, texts),
        st.builds(v5.GetDeps, u32s, texts.map(lambda b: b[:20]), u32s),
        st.builds(v5.SendMessage, u32s, u16s, texts),
        st.builds(v5.UinList, st.lists(u32s, max_size=255)),
        st.builds(v5.AddToList, u32s),
        st.builds(v5.UpdateList, u32s, u8s, u8s),
        st.builds(v5.StatusChange, u16s, u16s),
        st.builds(v5.Logoff, texts),
        st.builds(v5.FirstLogin, u32s),
        st.builds(v5.MetaRequest, u16s, st.binary(max_size=40)),
        st.builds(v5.Hello, u16s, u16s, u16s, ips, u16s, u16s, u32s),
        st.builds(v5.UserOnline, u32s, ips, u32s, ips, u8s, u16s, u16s, u32s, u32s,
                  u32s, u32s, u32s, u32s, u32s),
        st.builds(v5.UserOffline, u32s),
        st.builds(v5.UserStatus, u32s, u16s, u16s),
        st.builds(v5.OnlineMessage, u32s, u16s, texts),
        st.builds(v5.OfflineMessage, u32s, u16s, u8s, u8s, u8s, u8s, u16s, texts),
        st.builds(v5.ContactListDone, u32s),
        st.builds(v5.LoginErr, texts),
        st.builds(v5.MetaReply, u16s, u8s, st.binary(max_size=40)),
        st.builds(v5.MultiPacket, st.lists(st.binary(max_size=60), max_size=8)),
    ))
    def test_parameters(self, value):
        """Every parameter codec parses what it builds."""
        self.assertEqual(type(value).parse(value.build()), value)

"""
Tests for L{iserverd.codec.wwp}, with the vectors of webpager.md section 6.
"""

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial import unittest

from iserverd.codec import wwp
from iserverd.codec.errors import MalformedPacket

h = bytes.fromhex

# webpager.md 6.1: target 1002, "alice@example.org", "Alice", 192.0.2.55.
DATAGRAM = b"".join([
    h("09 07 02 01"),  # signature 0x01020709
    h("C0 00 02 37"),  # sender IP 192.0.2.55, dotted order
    h("EA 03 00 00"),  # target UIN 1002
    h("12 00") + b"alice@example.org\x00",  # e-mail, LNTS of 18
    h("06 00") + b"Alice\x00",  # name, LNTS of 6
    h("13 00") + b"Hello from the web\x00",  # message, LNTS of 19
])
PAGE = wwp.WebPage("192.0.2.55", 1002, b"alice@example.org", b"Alice", b"Hello from the web")
# webpager.md 6.2: the 69-byte text of the type 0x000D message.
TEXT = (b"Alice" + b"\xfe\xfe\xfe"  # name, two empty fields
        + b"alice@example.org" + b"\xfe"  # e-mail
        + b"3" + b"\xfe"  # the digit 3
        + b"Sender IP: 192.0.2.55\r\n"  # the sender's address line
        + b"Hello from the web")  # the body


def datagram(ip=b"\xc0\x00\x02\x37", target=1002, email=b"a@b\x00", name=b"N\x00", text=b"hi\x00",
             signature=b"\x09\x07\x02\x01"):
    """A datagram with raw LNTS contents (NULs as given)."""
    lnts = lambda v: len(v).to_bytes(2, "little") + v  # noqa: E731
    return signature + ip + target.to_bytes(4, "little") + lnts(email) + lnts(name) + lnts(text)


class VectorTests(unittest.TestCase):
    """
    The document's vectors decode, encode and compose exactly.
    """

    def test_vector_length(self):
        """The 6.1 datagram is 61 bytes, as the document says."""
        self.assertEqual(len(DATAGRAM), 61)

    def test_decode(self):
        """The 6.1 datagram decodes to its fields, e-mail before name."""
        self.assertEqual(wwp.decode(DATAGRAM), PAGE)

    def test_encode(self):
        """Encoding the fields gives the 6.1 datagram byte for byte."""
        self.assertEqual(wwp.encode(PAGE), DATAGRAM)

    def test_compose(self):
        """The message text is the 6.2 vector: six 0xFE-separated fields, 69 bytes."""
        self.assertEqual(wwp.compose(PAGE, 450), TEXT)
        self.assertEqual(len(TEXT), 69)

    @given(st.builds(
        wwp.WebPage,
        st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t),
        st.integers(wwp.MIN_UIN, wwp.MAX_UIN),
        st.binary(max_size=wwp.MAX_EMAIL - 1).map(lambda b: b.replace(b"\x00", b"")),
        st.binary(max_size=wwp.MAX_NAME - 1).map(lambda b: b.replace(b"\x00", b"")),
        st.binary(max_size=wwp.MAX_TEXT - 1).map(lambda b: b.replace(b"\x00", b"")),
    ))
    def test_round_trip(self, page):
        """Every encodable page decodes back to itself."""
        self.assertEqual(wwp.decode(wwp.encode(page)), page)


class CheckTests(unittest.TestCase):
    """
    The server's checks (webpager.md 5.1, recommended column) raise
    L{MalformedPacket} and nothing else.
    """

    def test_wrong_signature(self):
        """A wrong signature is refused, not carried on with as IServerd did."""
        e = self.assertRaises(MalformedPacket, wwp.decode, datagram(signature=b"\x09\x07\x02\x02"))
        self.assertIn("signature", str(e))

    def test_limits(self):
        """E-mail over 64, name over 32 and message over 450 bytes (NUL included) are refused."""
        wwp.decode(datagram(email=b"e" * 63 + b"\x00", name=b"n" * 31 + b"\x00", text=b"t" * 449 + b"\x00"))
        for fields in ({"email": b"e" * 65}, {"name": b"n" * 33}, {"text": b"t" * 451}):
            self.assertRaises(MalformedPacket, wwp.decode, datagram(**fields))

    def test_short(self):
        """A datagram shorter than its fields claim is refused at every cut."""
        whole = datagram()
        for end in range(len(whole)):
            self.assertRaises(MalformedPacket, wwp.decode, whole[:end])

    def test_low_target(self):
        """A target below 1001 is refused."""
        self.assertRaises(MalformedPacket, wwp.decode, datagram(target=1000))
        self.assertEqual(wwp.decode(datagram(target=1001)).target, 1001)

    def test_nul_cuts(self):
        """Strings without a NUL are accepted; a NUL inside one ends it."""
        page = wwp.decode(datagram(email=b"a@b", name=b"Bo\x00junk\x00", text=b"hi"))
        self.assertEqual((page.email, page.name, page.text), (b"a@b", b"Bo", b"hi"))

    def test_encode_refuses_what_decode_would(self):
        """encode raises ValueError for fields the server would drop."""
        self.assertRaises(ValueError, wwp.encode, replace(PAGE, name=b"n" * 32))
        self.assertRaises(ValueError, wwp.encode, replace(PAGE, target=1000))

    @given(st.binary(max_size=600))
    def test_random_bytes(self, data):
        """Random bytes decode or raise MalformedPacket, nothing else."""
        try:
            wwp.decode(data)
        except MalformedPacket:
            pass

    @given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4), st.integers(0, 61))
    def test_mutated_vector(self, flips, cut):
        """Mutated and cut copies of the vector decode or raise MalformedPacket."""
        data = bytearray(DATAGRAM)
        for index, value in flips:
            data[index] = value
        try:
            wwp.decode(bytes(data[:cut]))
        except MalformedPacket:
            pass


class ComposeTests(unittest.TestCase):
    """
    The message text always parses into the six fields clients expect.
    """

    def test_truncates_body_to_fit(self):
        """A long body is cut so the whole text fits one message of the limit."""
        text = wwp.compose(replace(PAGE, text=b"x" * 449), 450)
        self.assertEqual(len(text), 450)
        self.assertTrue(text.startswith(wwp.header(PAGE)))

    def test_separator_in_fields(self):
        """A 0xFE inside the name or e-mail cannot add a field."""
        text = wwp.compose(replace(PAGE, name=b"A\xfeB", email=b"x\xfey"))
        self.assertEqual(text.split(b"\xfe")[:5], [b"A?B", b"", b"", b"x?y", b"3"])
        self.assertEqual(len(text.split(b"\xfe")), 6)

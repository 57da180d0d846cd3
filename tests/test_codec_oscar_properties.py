"""
Tests for L{iserverd.codec.oscar} beyond the document's vectors: the FLAP
splitter's bounds, the less common structures, and hypothesis properties
(random and mutated input raises nothing but L{MalformedPacket}; the
splitter never holds more than one maximum-sized frame; encode/decode round
trips).
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.oscar import (
    auth, buddy, flap, icbm, icq, location, logincrypto, privacy, service, snac,
    ssi, userinfo,
)
from iserverd.codec.oscar.wire import Reader, Tlvs, parse_uin, screen_name, tlv, u16

h = bytes.fromhex


def frame(channel, sequence, data=b""):
    return flap.encode(flap.Frame(channel, sequence, data))


class SplitterTests(unittest.TestCase):
    """
    L{flap.Splitter} cuts a stream into frames and refuses oversized or
    unsynchronised ones as soon as their header is in.
    """

    def test_oneByteAtATime(self):
        """A frame fed one byte at a time comes out once, when complete."""
        splitter = flap.Splitter()
        wire = frame(2, 7, b"abcdef")
        out = []
        for i in range(len(wire)):
            got = splitter.feed(wire[i:i + 1])
            if i < len(wire) - 1:
                self.assertEqual(got, [])
            out += got
        self.assertEqual(out, [flap.Frame(2, 7, b"abcdef")])
        self.assertEqual(splitter.pending, 0)

    def test_severalInOneRead(self):
        """Several frames and the head of another in one read."""
        splitter = flap.Splitter()
        wire = frame(1, 1, h("00000001")) + frame(5, 2) + frame(2, 3, b"x" * 10)
        self.assertEqual(splitter.feed(wire + wire[:4]), [
            flap.Frame(1, 1, h("00000001")), flap.Frame(5, 2), flap.Frame(2, 3, b"x" * 10)])
        self.assertEqual(splitter.pending, 4)
        self.assertEqual(splitter.feed(wire[4:10]), [flap.Frame(1, 1, h("00000001"))])

    def test_maximumAccepted(self):
        """A frame of exactly the maximum length is accepted."""
        splitter = flap.Splitter(max_data=100)
        self.assertEqual(splitter.feed(frame(2, 0, b"y" * 100)), [flap.Frame(2, 0, b"y" * 100)])

    def test_oversizedRefusedAtHeader(self):
        """A header announcing more than the maximum raises before any data arrives."""
        splitter = flap.Splitter(max_data=100)
        self.assertRaises(MalformedPacket, splitter.feed, h("2A 02 00 01 00 65"))
        self.assertEqual(splitter.pending, 0)

    def test_badStart(self):
        """A frame not starting with 0x2A raises; the splitter then stays broken."""
        splitter = flap.Splitter()
        self.assertRaises(MalformedPacket, splitter.feed, h("2B 02 00 01 00 00"))
        self.assertRaises(MalformedPacket, splitter.feed, frame(2, 0))

    def test_badLimit(self):
        """A maximum outside a WORD is a caller error."""
        self.assertRaises(ValueError, flap.Splitter, 0x10000)

    def test_encodeTooLong(self):
        """Encoding more than 65535 data bytes is a caller error."""
        self.assertRaises(ValueError, flap.encode, flap.Frame(2, 0, bytes(0x10000)))

    def test_decodeExact(self):
        """flap.decode wants exactly one frame."""
        self.assertRaises(MalformedPacket, flap.decode, frame(2, 0, b"ab") + b"c")
        self.assertRaises(MalformedPacket, flap.decode, h("2A 02 00"))

    def test_sequenceWrap(self):
        """Sequence numbers wrap from 0x7FFF to 0 (ambiguity 1)."""
        self.assertEqual(flap.next_sequence(0x7FFE), 0x7FFF)
        self.assertEqual(flap.next_sequence(0x7FFF), 0)


class StructureTests(unittest.TestCase):
    """Structures without a vector of their own."""

    def test_snacExtra(self):
        """Flag 0x8000: the WORD-length prefix is skipped; one that overruns is malformed."""
        data = h("0001 000F 8000 00000001 0006 0001 0002 0003") + b"body"
        s = snac.decode(data)
        self.assertEqual((s.key, s.flags, s.body), ((1, 0x0F), 0x8000, b"body"))
        self.assertRaises(MalformedPacket, snac.decode, h("0001 000F 8000 00000001 0009 00"))
        self.assertRaises(MalformedPacket, snac.decode, h("0001 000F 00"))

    def test_error(self):
        """xx,01 with and without the sub-code TLV."""
        s = snac.error(4, 0x1234, snac.ERR_NOT_LOGGED_ON)
        self.assertEqual(snac.encode(s), h("0004 0001 0000 00001234 0004"))
        self.assertEqual(snac.Error.parse(h("000E 0008 0002 0001")), snac.Error(0x0E, 1))
        self.assertEqual(snac.Error.parse(snac.Error(0x0E, 1).build()), snac.Error(0x0E, 1))

    def test_tlvChain(self):
        """A TLV chain keeps order and repeats; the first occurrence is the value."""
        tlvs = Tlvs.parse(tlv(1, b"a") + tlv(2, b"") + tlv(1, b"b"))
        self.assertEqual(tlvs.get(1), b"a")
        self.assertEqual(tlvs.all(1), [b"a", b"b"])
        self.assertIn(2, tlvs)
        self.assertNotIn(3, tlvs)
        self.assertEqual(tlvs.word(1), None)
        self.assertRaises(MalformedPacket, Tlvs.parse, h("0001 0005 00"))

    def test_tlvLenient(self):
        """Lenient parsing keeps the bytes of an over-long last TLV (Jimm's 02,04)."""
        body = h("0005 0020") + userinfo.CAP_SRV_RELAY
        info = location.SetInfo.parse(body)
        self.assertEqual(info.capabilities, (userinfo.CAP_SRV_RELAY,))
        self.assertEqual(location.SetInfo.parse(info.build()), info)

    def test_tlvBlock(self):
        """A block reads its count of TLVs and leaves the rest."""
        r = Reader(h("0002") + tlv(1, b"x") + tlv(2, b"y") + b"rest")
        self.assertEqual(Tlvs.read_block(r), Tlvs.of((1, b"x"), (2, b"y")))
        self.assertEqual(r.rest(), b"rest")

    def test_screenNames(self):
        """A screen name is the decimal UIN; anything else has no UIN."""
        self.assertEqual(screen_name(1001), b"1001")
        self.assertEqual(parse_uin(b"1001"), 1001)
        for name in (b"", b"0", b"01x", b"alice", b"4294967296", b"-5", "١٢".encode()):
            self.assertIsNone(parse_uin(name), name)

    def test_buddyLists(self):
        """03,04 and 09,05 bodies are BUIN lists."""
        body = buddy.build_names([b"1002", b"1003"])
        self.assertEqual(body, h("04 31303032 04 31303033"))
        self.assertEqual(privacy.parse_names(body), [b"1002", b"1003"])
        self.assertRaises(MalformedPacket, buddy.parse_names, h("05 3130"))

    def test_rights(self):
        """The rights replies carry IServerd's limits."""
        self.assertEqual(Tlvs.parse(buddy.rights()).word(1), 600)
        self.assertEqual(Tlvs.parse(privacy.rights()).word(2), 200)
        self.assertEqual(ssi.parse_rights(ssi.rights())[:4], (600, 61, 200, 200))
        self.assertEqual(location.RIGHTS_TLVS.word(1), 1024)

    def test_icbmParams(self):
        """04,02 / 04,05 are 16 bytes."""
        params = icbm.Params(1, 0x0B, 8000, 999, 999, 0)
        self.assertEqual(len(params.build()), 16)
        self.assertEqual(icbm.Params.parse(params.build()), params)
        self.assertEqual(icbm.Params().build(), h("0000 00000003 0200 03E7 03E7 00000000"))

    def test_typing(self):
        """04,14: zero cookie, channel 1, name, event."""
        typing = icbm.Typing(b"1002", icbm.TYPING_BEGUN)
        self.assertEqual(typing.build(), bytes(8) + h("0001 04 31303032 0002"))
        self.assertEqual(icbm.Typing.parse(typing.build()), typing)

    def test_rendezvous(self):
        """A channel-2 ICQ message: rendezvous header and its type-2 body, both ways."""
        body = icbm.ServerRelayMessage(1, 1, 0, 0x21, b"hi", version=9, tail=h("00000000 FFFFFF00"))
        rv = icbm.Rendezvous(icbm.RV_REQUEST, b"c" * 8, userinfo.CAP_SRV_RELAY, Tlvs.of(
            (icbm.TLV_RV_ACK_TYPE, u16(1)), (0x000F, b""), (icbm.TLV_RV_SERVER_RELAY, body.build())))
        parsed = icbm.Rendezvous.parse(rv.build())
        self.assertEqual(parsed, rv)
        self.assertTrue(parsed.is_icq_message)
        relay = parsed.tlvs.get(icbm.TLV_RV_SERVER_RELAY)
        self.assertEqual(relay[:2], h("1B00"))
        self.assertEqual(icbm.ServerRelayMessage.parse(relay), body)

    def test_clientAck(self):
        """04,0B keeps the channel-specific data as it came."""
        ack = icbm.ClientAck(b"k" * 8, 2, b"1001", 3, b"payload")
        self.assertEqual(icbm.ClientAck.parse(ack.build()), ack)

    def test_offlineDelivery(self):
        """A 04,07 for 04,10 delivery gains TLV 0x0016, the send time."""
        receive = icbm.Receive(b"k" * 8, 1, userinfo.departed(b"1001"), Tlvs())
        self.assertEqual(icbm.offline_delivery(receive, 77).tlvs.dword(icbm.TLV_SEND_TIME), 77)

    def test_channelOneWithoutText(self):
        """A channel-1 message without a text fragment is malformed."""
        self.assertRaises(MalformedPacket, icbm.ChannelOneMessage.parse, h("0501 0001 01"))

    def test_oddUcs2(self):
        """An odd number of UCS-2 bytes decodes with a replacement, never an exception."""
        self.assertEqual(icbm.ChannelOneMessage(b"\x00A\x00", 2).decode("cp1252"), "A\ufffd")

    def test_serviceRequestAndIdle(self):
        """01,04 and 01,11 both ways."""
        request = service.ServiceRequest(0x10, Tlvs.of((0x8C, b"")))
        self.assertEqual(service.ServiceRequest.parse(request.build()), request)
        self.assertEqual(service.Idle.parse(h("0000003C")), service.Idle(60))

    def test_rateChange(self):
        """01,0A: code and one class."""
        change = service.RateChange(service.RATE_WARNING, service.RateClass(3, 20, 4100, 4000, 3000, 2000, 3900, 7000))
        self.assertEqual(service.RateChange.parse(change.build()), change)

    def test_editBegin(self):
        """13,11: import mode only with the 0x00010000 DWORD."""
        self.assertFalse(ssi.parse_edit_begin(b""))
        self.assertTrue(ssi.parse_edit_begin(h("00010000")))

    def test_registration(self):
        """17,04: the password is the LNTS at offset 40; 17,05: the new UIN at offset 42 (licq)."""
        request = auth.RegisterRequest(b"secret", 3, 0x11223344)
        block = Tlvs.parse(request.build()).get(1)
        self.assertEqual(block[40:49], h("0700") + b"secret\0")
        self.assertEqual(auth.RegisterRequest.parse(request.build()), request)
        reply = auth.NewUin(20001, 3, 0x11223344, 1234, "192.0.2.7")
        block = Tlvs.parse(reply.build()).get(1)
        self.assertEqual(block[42:46], h("214E0000"))
        self.assertEqual(block[:2], (len(block) - 2).to_bytes(2, "little"))
        self.assertEqual(block[18:22], h("00000004"))
        self.assertEqual(auth.NewUin.parse(reply.build()), reply)
        self.assertEqual(auth.register_refused(), h("0005"))

    def test_meta(self):
        """0x07D0 / 0x07DA framing: subtype LE, result byte, data."""
        self.assertEqual(icq.MetaRequest(0x04B2, h("E9030000")).build(), h("B204 E9030000"))
        self.assertEqual(icq.MetaReply.parse(h("C800 0A") + b"rest"), icq.MetaReply(0xC8, 0x0A, b"rest"))
        self.assertRaises(MalformedPacket, icq.MetaReply.parse, h("C8"))

    def test_disconnectWithoutText(self):
        """A channel-4 close may carry the reason alone."""
        self.assertEqual(auth.Disconnect(1).build(), h("0009 0002 0001"))


# --- properties ---------------------------------------------------------------

FUZZ = settings(max_examples=400)

u8s = st.integers(0, 0xFF)
u16s = st.integers(0, 0xFFFF)
u32s = st.integers(0, 0xFFFFFFFF)
names = st.integers(1, 0xFFFFFFFF).map(screen_name)
small = st.binary(max_size=40)
tlv_chains = st.lists(st.tuples(u16s, small), max_size=6).map(lambda p: Tlvs(tuple(p)))

# Every body parser; each must raise only MalformedPacket.
PARSERS = [
    auth.SignOn.parse, auth.AuthResult.parse, auth.Disconnect.parse, auth.KeyRequest.parse,
    auth.KeyReply.parse, auth.Md5Login.parse,
    service.FamilyList.parse, service.Versions.parse, service.Motd.parse,
    service.RateInfo.parse, lambda d: service.RateInfo.parse(d, False), service.RateAck.parse,
    service.RateChange.parse, service.SetStatus.parse, service.Idle.parse,
    service.ClientReady.parse, service.ServiceRequest.parse, service.parse_own_info,
    location.SetInfo.parse, buddy.parse_names, buddy.parse_presence, privacy.parse_names,
    icbm.Params.parse, icbm.Send.parse, icbm.Receive.parse, icbm.ServerAck.parse,
    icbm.ClientAck.parse, icbm.Typing.parse, icbm.ChannelOneMessage.parse,
    icbm.IcqMessage.parse, icbm.Rendezvous.parse, icbm.ServerRelayMessage.parse,
    ssi.parse_items, ssi.Roster.parse, ssi.RosterStamp.parse, ssi.parse_results,
    ssi.parse_rights, ssi.parse_edit_begin, ssi.AuthRequest.parse, ssi.AuthReply.parse,
    ssi.parse_name, icq.Envelope.parse, icq.OfflineMessage.parse, snac.Error.parse,
    icq.MetaRequest.parse, icq.MetaReply.parse, auth.RegisterRequest.parse, auth.NewUin.parse,
    userinfo.UserInfo.parse, userinfo.DcInfo.parse, Tlvs.parse,
]

# Valid bodies to mutate: the vectors' SNAC bodies and some built ones.
VALID_BODIES = [
    auth.roasted_signon(b"1001", logincrypto.roast(b"secret")).build(),
    auth.AuthResult(b"1001", b"192.0.2.1:5190", b"c" * 16).build(),
    auth.md5_login(b"1001", bytes(16), True).build(),
    auth.KeyReply(b"abc").build(),
    service.RateInfo((service.RateClass(1, 80, 2500, 2000, 1500, 800, 3433, 6000),),
                     ((1, ((4, 6), (1, 2))),)).build(),
    service.SetStatus(0x10001, userinfo.DcInfo("1.2.3.4", 5)).build(),
    userinfo.icq_user(b"1002", 1, 1, 5, 6, 7, userinfo.DcInfo(), "1.2.3.4",
                      [userinfo.CAP_UTF8]).build(),
    icbm.Send(b"k" * 8, 1, b"1002", Tlvs.of((2, icbm.ChannelOneMessage(b"hi").build()),
                                             (3, b""))).build(),
    icbm.Send(b"k" * 8, 4, b"1002", Tlvs.of((5, icbm.IcqMessage(1001, 4, 0, b"a\xfeb").build()))).build(),
    icbm.Rendezvous(0, b"k" * 8, userinfo.CAP_SRV_RELAY, Tlvs.of(
        (0x2711, icbm.ServerRelayMessage(1, text=b"x").build()))).build(),
    icbm.ServerRelayMessage(1, text=b"hello").build(),
    auth.RegisterRequest(b"pw", 3, 7).build(),
    auth.NewUin(20001, 3, 7, 1, "1.2.3.4").build(),
    ssi.Roster((ssi.Item(b"G", 1, 0, 1, Tlvs.of((0xC8, h("0101")))),
                ssi.Item(b"1002", 1, 0x101, 0, Tlvs.of((0x131, b"Bob"))))).build(),
    ssi.AuthRequest(b"1004", b"please", b"utf-8").build(),
    icq.Envelope(1002, 0x41, b"\x02\x00", icq.OfflineMessage(
        1001, __import__("datetime").datetime(2004, 5, 6, 7, 8), 1, 0, b"Hi").build()).build(),
]

VALID_STREAM = b"".join([
    flap.hello(1),
    frame(2, 2, snac.encode(snac.Snac(4, 6, 0, 9, VALID_BODIES[7]))),
    frame(5, 3),
    frame(4, 4, auth.Disconnect(1, b"bye").build()),
])


@st.composite
def mutated(draw, corpus):
    data = bytearray(draw(st.sampled_from(corpus)))
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "mixed", "byte"]))
    if data and kind in ("flip", "mixed"):
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    if data and kind == "byte":
        data[draw(st.integers(0, len(data) - 1))] = draw(u8s)
    if kind in ("truncate", "mixed"):
        del data[draw(st.integers(0, len(data))):]
    if kind in ("extend", "mixed"):
        data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def survives(function, data):
    """Call a decoder; a L{MalformedPacket} is fine, anything else escapes."""
    try:
        return function(data)
    except MalformedPacket:
        return None


def chunked(data, cuts):
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points + [len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


class RobustnessTests(unittest.TestCase):
    """
    Whatever the bytes, the codec raises only MalformedPacket and the splitter
    stays within one maximum-sized frame.
    """

    def feed_all(self, splitter, pieces):
        frames = []
        try:
            for piece in pieces:
                frames += splitter.feed(piece)
                self.assertLess(splitter.pending, splitter.limit)
        except MalformedPacket:
            self.assertEqual(splitter.pending, 0)
        for f in frames:
            self.assertLessEqual(len(f.data), splitter.max_data)
            if f.channel == flap.CH_SNAC:
                s = survives(snac.decode, f.data)
                if s is not None:
                    for parser in PARSERS:
                        survives(parser, s.body)
            elif f.channel in (flap.CH_SIGNON, flap.CH_SIGNOFF):
                for parser in PARSERS:
                    survives(parser, f.data)
        return frames

    @FUZZ
    @given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8),
           st.integers(0, 300))
    def test_randomStream(self, data, cuts, limit):
        """Random bytes in random pieces: frames or MalformedPacket, bounded buffer."""
        self.feed_all(flap.Splitter(limit), chunked(data, cuts))

    @FUZZ
    @given(mutated([VALID_STREAM]), st.lists(st.integers(0, 600), max_size=8))
    def test_mutatedStream(self, data, cuts):
        """A mutated valid stream: its frames' bodies through every parser."""
        self.feed_all(flap.Splitter(64), chunked(data, cuts))

    @FUZZ
    @given(st.lists(st.binary(max_size=50).map(lambda d: frame(2, 0, d)), max_size=10),
           st.lists(st.integers(0, 600), max_size=8))
    def test_validStreamRecovered(self, frames, cuts):
        """Valid frames in any cut come out whole and in order."""
        stream = b"".join(frames)
        got = flap.Splitter(50)
        out = []
        for piece in chunked(stream, cuts):
            out += got.feed(piece)
        self.assertEqual([flap.encode(f) for f in out], frames)

    @FUZZ
    @given(st.binary(max_size=200))
    def test_randomBodies(self, data):
        """Random bytes into every parser."""
        for parser in PARSERS:
            survives(parser, data)

    @FUZZ
    @given(mutated(VALID_BODIES))
    def test_mutatedBodies(self, data):
        """Mutated valid bodies into every parser."""
        for parser in PARSERS:
            survives(parser, data)

    @FUZZ
    @given(st.binary(max_size=120))
    def test_randomSnac(self, data):
        """Random SNAC data decodes or raises MalformedPacket."""
        survives(snac.decode, data)


class RoundTripTests(unittest.TestCase):
    """What is built parses back to the same value."""

    @given(u8s, u16s, st.binary(max_size=300))
    def test_frame(self, channel, sequence, data):
        f = flap.Frame(channel, sequence, data)
        self.assertEqual(flap.decode(flap.encode(f)), f)

    @given(u16s, u16s, u16s.filter(lambda f: not f & snac.FLAG_EXTRA), u32s, st.binary(max_size=100))
    def test_snac(self, family, subtype, flags, request_id, body):
        s = snac.Snac(family, subtype, flags, request_id, body)
        self.assertEqual(snac.decode(snac.encode(s)), s)

    @given(st.binary(max_size=64))
    def test_roast(self, password):
        self.assertEqual(logincrypto.unroast(logincrypto.roast(password)), password)

    @given(st.one_of(
        st.builds(auth.SignOn, tlv_chains, u32s),
        st.builds(auth.AuthResult, small, small, small, u16s, small),
        st.builds(auth.Disconnect, u16s, small),
        st.builds(auth.KeyReply, small),
        st.builds(service.FamilyList, st.lists(u16s, max_size=20).map(tuple)),
        st.builds(service.Versions, st.lists(st.tuples(u16s, u16s), max_size=20).map(tuple)),
        st.builds(service.Motd, u16s, tlv_chains),
        st.builds(service.RateAck, st.lists(u16s, max_size=10).map(tuple)),
        st.builds(service.Idle, u32s),
        st.builds(service.ClientReady, st.lists(st.tuples(u16s, u16s, u16s, u16s), max_size=10).map(tuple)),
        st.builds(icbm.Params, u16s, u32s, u16s, u16s, u16s, u32s),
        st.builds(icbm.Send, st.binary(min_size=8, max_size=8), u16s, names, tlv_chains),
        st.builds(icbm.ServerAck, st.binary(min_size=8, max_size=8), u16s, names),
        st.builds(icbm.Typing, names, u16s, u16s, st.binary(min_size=8, max_size=8)),
        st.builds(icbm.ChannelOneMessage, small, u16s, u16s, small),
        st.builds(icbm.IcqMessage, u32s, u8s, u8s, small.map(lambda b: b.replace(b"\0", b""))),
        st.builds(ssi.RosterStamp, u32s, u16s),
        st.builds(icq.MetaRequest, u16s, small),
        st.builds(icq.MetaReply, u16s, u8s, small),
        st.builds(auth.RegisterRequest, small.map(lambda b: b.replace(b"\0", b"")), u16s, u32s),
        st.builds(auth.NewUin, u32s, u16s, u32s, u32s,
                  st.tuples(u8s, u8s, u8s, u8s).map(lambda t: "%d.%d.%d.%d" % t)),
        st.builds(ssi.AuthReply, names, st.booleans(), small),
        st.builds(icq.Envelope, u32s, u16s, st.binary(min_size=2, max_size=2), small),
        st.builds(userinfo.DcInfo, st.tuples(u8s, u8s, u8s, u8s).map(lambda t: "%d.%d.%d.%d" % t),
                  u32s, u8s, u16s, u32s, u32s, u32s, u32s, u32s, u32s, u16s),
    ))
    def test_structures(self, value):
        self.assertEqual(type(value).parse(value.build()), value)

    @given(st.lists(st.builds(ssi.Item, small, u16s, u16s, u16s, tlv_chains), max_size=30),
           u32s, st.integers(1, 2000))
    def test_rosterParts(self, items, stamp, size):
        """Split rosters put back together give the items, each part under the size
        unless it holds one item."""
        out = []
        for part in ssi.roster_parts(items, stamp, size):
            roster = ssi.Roster.parse(part)
            self.assertEqual(roster.last_change, stamp)
            if len(roster.items) > 1:
                self.assertLessEqual(len(ssi.build_items(roster.items)), size)
            out += roster.items
        self.assertEqual(out, items)

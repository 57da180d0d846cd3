"""
Tests for L{iserverd.codec.v5_meta}: the META replies of v5-vectors.md sections
3.4-3.6 byte for byte, every request's layouts and client variants, the field
limits, and random or mutated input.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial import unittest

from iserverd.codec import v5
from iserverd.codec import v5_meta as meta
from iserverd.codec.errors import MalformedPacket
from iserverd.codec.wire import lnts
from tests.test_codec_v5 import (
    FUZZ,
    MetaAboutVector,
    MetaAffiliationsVector,
    MetaFoundVector,
    MetaGeneralVector,
    MetaHomepageVector,
    MetaInterestsVector,
    MetaMoreVector,
    MetaNotFoundVector,
    MetaPasswordReplyVector,
    MetaSearchUinVector,
    MetaSetPasswordVector,
    MetaWorkVector,
    mutated,
)

h = bytes.fromhex

# The info of vector 3.4 (user 1002, "Bob Robert Smith"), in reply form.
GENERAL = meta.GeneralInfo(
    nick=b"Bob", first_name=b"Robert", last_name=b"Smith", email=b"",  # e-mail 1 hidden
    email2=b"bob@example.org", home_city=b"Paris", home_zip=b"75001", home_country=33,
    timezone=-2, hide_email=True,
)
MORE = meta.MoreInfo(30, 2, b"http://example.org/", 1971, 5, 17, (12, 0, 0))
WORK = meta.WorkInfo(
    work_city=b"Lyon", work_zip=b"69000", work_country=33, work_company=b"ACME",
    work_department=b"R&D", work_title=b"Engineer", work_occupation=4,
)


class InfoReplyVectorTests(unittest.TestCase):
    """
    The seven full-info replies (section 3.4) are built byte for byte.
    """

    def test_order(self):
        """info_replies gives the seven replies in the documented order, each as in the vectors."""
        replies = meta.info_replies(
            GENERAL, MORE, meta.HomepageCategory(), WORK, meta.About(b"Hi there"),
            meta.Interests(((100, b"Chess"),)), meta.Affiliations(),
        )
        vectors = [MetaGeneralVector, MetaMoreVector, MetaHomepageVector, MetaWorkVector,
                   MetaAboutVector, MetaInterestsVector, MetaAffiliationsVector]
        self.assertEqual(replies, [v.packet.data for v in vectors])

    def test_parseBack(self):
        """The 99b replies parse back to the values they were built from."""
        for value, vector in [(GENERAL, MetaGeneralVector), (MORE, MetaMoreVector), (WORK, MetaWorkVector)]:
            data = v5.MetaReply.parse(vector.packet.data).data
            self.assertEqual(type(value).parse(data), value)

    def test_general99a(self):
        """The 99a general info has a DWORD ZIP and ends with auth, web-aware, hide-IP, 0, 0."""
        value = meta.GeneralInfo(nick=b"Bob", home_zip=b"75001", timezone=-2, auth_required=True,
                                 web_aware=False, hide_ip=True, b99=False)
        data = value.build()
        self.assertEqual(data[-13:], b"".join([
            h("F9 24 01 00"),  # ZIP 75001 (0x000124F9) as a DWORD
            h("FF FF"),  # country unset
            h("FE FF"),  # time zone -2, a WORD
            h("01 00 01 00 00"),  # auth, web aware, hide IP, 0, 0
        ]))
        self.assertEqual(meta.GeneralInfo.parse(data, b99=False), value)

    def test_more99a(self):
        """The 99a more info carries the birth year as years since 1900 (0 stays unset)."""
        value = meta.MoreInfo(30, 2, b"", 1971, 5, 17, (12,), b99=False)
        self.assertEqual(value.build(), h("1E 00 02 01 00 00 47 05 11 0C 00 00"))
        self.assertEqual(meta.MoreInfo.parse(value.build(), b99=False), value)
        self.assertEqual(meta.MoreInfo(birth_year=0, b99=False).build()[6], 0)

    def test_work99a(self):
        """The 99a work info carries a DWORD ZIP; a non-numeric ZIP becomes 0."""
        value = meta.WorkInfo(work_zip=b"69000", b99=False)
        self.assertEqual(meta.WorkInfo.parse(value.build(), b99=False), value)
        data = meta.WorkInfo(work_zip=b"SW1A", b99=False).build()
        self.assertEqual(data[15:19], bytes(4))

    def test_affiliationsPadded(self):
        """Affiliations always carry three entries of each kind, as IServerd sent them."""
        value = meta.Affiliations(((1, b"a"),), ((2, b"b"), (3, b"c")))
        data = value.build()
        self.assertEqual(data[0], 3)
        self.assertEqual(meta.Affiliations.parse(data), value)

    def test_shortInfo(self):
        """Short info: nick, first, last, e-mail, auth, gender, 0."""
        value = meta.ShortInfo(b"Bob", b"Robert", b"Smith", b"bob@example.org", True, 2)
        data = value.build()
        self.assertEqual(data[-3:], h("01 02 00"))
        self.assertEqual(meta.ShortInfo.parse(data), value)


class SearchReplyTests(unittest.TestCase):
    """
    Search records (section 3.6) in their four forms.
    """

    bob = meta.Found(1002, b"Bob", b"Robert", b"Smith", b"bob@example.org", False, True)

    def test_vector(self):
        """The length-word record of an online user is the vector byte for byte."""
        self.assertEqual(meta.search_replies([self.bob], meta.SEARCH_UIN_LW, False),
                         [MetaFoundVector.packet.data])

    def test_notFound(self):
        """None found: 0x019A with 0x32, plus a DWORD 0 only in the no-length-word form."""
        self.assertEqual(meta.search_replies([], meta.SEARCH_UIN_LW, False), [MetaNotFoundVector.packet.data])
        self.assertEqual(meta.search_replies([], meta.SEARCH_NAME, False), [h("9A 01 32 00 00 00 00")])
        self.assertEqual(meta.search_replies([], meta.WHITE_PAGES_99B, False), [h("AE 01 32")])
        self.assertEqual(meta.search_replies([], meta.WHITE_PAGES_99A, False), [h("AE 01 32")])

    def test_several(self):
        """All records but the last are 0x0190; the last is 0x019A and carries "more"."""
        other = meta.Found(1003, b"Al")
        replies = [v5.MetaReply.parse(r) for r in meta.search_replies([self.bob, other], meta.SEARCH_NAME, True)]
        self.assertEqual([(r.subcommand, r.result) for r in replies],
                         [(meta.REPLY_FOUND, meta.META_OK), (meta.REPLY_LAST_FOUND, meta.META_OK)])
        self.assertEqual(meta.Found.parse(replies[0].data), (self.bob, None))
        self.assertEqual(meta.Found.parse(replies[1].data, last=True), (other, 1))

    def test_whitePages(self):
        """White-pages results use 0x01A4 and 0x01AE; the 99b form has the length word."""
        sent = meta.search_replies([self.bob, self.bob], meta.WHITE_PAGES_99B, False)
        replies = [v5.MetaReply.parse(r) for r in sent]
        self.assertEqual([r.subcommand for r in replies], [meta.REPLY_WP_FOUND, meta.REPLY_WP_LAST_FOUND])
        self.assertEqual(meta.Found.parse(replies[1].data, length_word=True, last=True), (self.bob, 0))

    def test_oldCommands(self):
        """USER_FOUND is a record without length word; END_OF_SEARCH says whether results were cut."""
        self.assertEqual(meta.old_found(self.bob), self.bob.build())
        self.assertEqual((meta.end_of_search(True), meta.end_of_search(False)), (b"\x01", b"\x00"))
        self.assertEqual(meta.invalid_uin(1002), h("EA 03 00 00"))


class OldInfoTests(unittest.TestCase):
    """
    The pre-META info replies (section 16).
    """

    def test_info(self):
        """INFO_REPLY: UIN, nick, first, last, e-mail, auth."""
        value = meta.OldInfo(1002, b"Bob", b"Robert", b"Smith", b"bob@example.org", True)
        data = value.build()
        self.assertEqual(data[:4], h("EA 03 00 00"))
        self.assertEqual(data[-1:], b"\x01")
        self.assertEqual(meta.OldInfo.parse(data), value)

    def test_extInfo(self):
        """EXT_INFO_REPLY carries the time zone and the ZIP licq reads."""
        value = meta.OldExtInfo(1002, b"Paris", 33, -2, b"IDF", 30, 2, b"123", b"http://x/", b"hi", b"75001")
        data = value.build()
        self.assertEqual(data[4:15], lnts(b"Paris") + h("21 00") + h("FE"))
        self.assertEqual(data[-4:], h("F9 24 01 00"))
        self.assertEqual(meta.OldExtInfo.parse(data), value)


def basic_texts(**changes):
    values = dict(nick=b"Bob", first_name=b"Robert", last_name=b"Smith", email=b"b@x.org",
                  email2=b"bob@example.org", email3=b"", home_city=b"Paris", home_state=b"",
                  home_phone=b"", home_fax=b"", home_address=b"", home_cell=b"")
    values.update(changes)
    return values


class SetRequestTests(unittest.TestCase):
    """
    The set requests of section 15.3 and their client variants.
    """

    def test_passwordVector(self):
        """The set-password request of vector 3.5 parses to its password."""
        request = v5.MetaRequest.parse(MetaSetPasswordVector.packet.data)
        self.assertEqual(meta.SetPassword.parse(request.subcommand, request.rest),
                         meta.SetPassword(meta.SET_PASSWORD, b"newpass"))
        self.assertEqual(meta.meta_reply(meta.REPLY_PASSWORD_SET), MetaPasswordReplyVector.packet.data)

    def test_passwordRefused(self):
        """An empty password or one a LOGIN could not carry (over 20 bytes) is refused."""
        self.assertRaises(meta.RefusedField, meta.SetPassword.parse, meta.SET_PASSWORD, lnts(b""))
        self.assertRaises(meta.FieldTooLong, meta.SetPassword.parse, meta.SET_PASSWORD, lnts(b"x" * 21))
        self.assertEqual(meta.SetPassword.parse(meta.SET_PASSWORD, lnts(b"x" * 20)).password, b"x" * 20)

    def test_basicZipDword(self):
        """0x03E8 (ICQ99a, old licq): DWORD ZIP, country, time zone, hide-e-mail; more bytes ignored."""
        request = meta.SetBasic(meta.SET_BASIC, **basic_texts(), home_zip=b"75001", home_country=33,
                                timezone=-2, hide_email=True)
        data = request.build()
        self.assertEqual(data[-8:], h("F9 24 01 00 21 00 FE 01"))
        self.assertEqual(meta.SetBasic.parse(meta.SET_BASIC, data), request)
        # Old licq: time zone, auth, web aware, hide-e-mail; the auth byte lands in hide-e-mail.
        self.assertEqual(meta.SetBasic.parse(meta.SET_BASIC, data[:-1] + h("00 01 01")).hide_email, False)

    def test_basicZipString(self):
        """0x03E9 (IServerd, licq, ICQ99b): string ZIP, country, time zone, hide-e-mail."""
        request = meta.SetBasic(meta.SET_BASIC_ZIP_TEXT, **basic_texts(), home_zip=b"75001",
                                home_country=33, timezone=4, hide_email=False)
        data = request.build()
        self.assertEqual(data[-12:], lnts(b"75001") + h("21 00 04 00"))
        self.assertEqual(meta.SetBasic.parse(meta.SET_BASIC_ZIP_TEXT, data), request)
        self.assertEqual(request.columns()["home_zip"], b"75001")

    def test_basicMicq(self):
        """micq's 0x03E9 has a DWORD ZIP and auth/web-aware/hide-IP after the time zone: no hide-e-mail."""
        texts = b"".join(lnts(v) for v in basic_texts().values())
        data = texts + h("39 30 00 00") + h("21 00") + h("02") + h("01 01 00")
        request = meta.SetBasic.parse(meta.SET_BASIC_ZIP_TEXT, data)
        self.assertEqual((request.home_zip, request.home_country, request.timezone, request.hide_email),
                         (b"12345", 33, 2, None))
        self.assertNotIn("hide_email", request.columns())
        self.assertTrue(request.zip_dword)

    def test_basicLimits(self):
        """A nick of 31 bytes is accepted, 32 is too long; an unset country reads as 0."""
        ok = meta.SetBasic(meta.SET_BASIC_ZIP_TEXT, **basic_texts(nick=b"n" * 31))
        self.assertEqual(meta.SetBasic.parse(meta.SET_BASIC_ZIP_TEXT, ok.build()).home_country, 0)
        long = meta.SetBasic(meta.SET_BASIC_ZIP_TEXT, **basic_texts(nick=b"n" * 32))
        self.assertRaises(meta.FieldTooLong, meta.SetBasic.parse, meta.SET_BASIC_ZIP_TEXT, long.build())

    def test_textCutAtNul(self):
        """A string is cut at its first NUL, as clients write C strings."""
        data = meta.SetAbout(meta.SET_ABOUT, b"hi\x00junk").build()
        self.assertEqual(meta.SetAbout.parse(meta.SET_ABOUT, data).notes, b"hi")

    def test_work(self):
        """Work info in both ZIP forms; licq's placeholders (ZIP 0x100, country 0xFFFF) parse."""
        for sub in (meta.SET_WORK, meta.SET_WORK_ZIP_TEXT):
            request = meta.SetWork(sub, b"Lyon", b"", b"555", b"", b"1 rue", b"69000", 33, b"ACME",
                                   b"R&D", b"Engineer", 4, b"http://acme/")
            self.assertEqual(meta.SetWork.parse(sub, request.build()), request)
        licq = meta.SetWork(meta.SET_WORK, work_zip=b"256").build()
        self.assertEqual(meta.SetWork.parse(meta.SET_WORK, licq).work_country, 0)
        long = meta.SetWork(meta.SET_WORK, work_homepage=b"h" * 128).build()
        self.assertRaises(meta.FieldTooLong, meta.SetWork.parse, meta.SET_WORK, long)

    def test_more(self):
        """More info: a BYTE year (0x03FC) is stored as 1900 + value, a WORD (0x03FD) as is."""
        byte = meta.SetMore(meta.SET_MORE, 30, 2, b"http://x/", 1971, 5, 17, (12, 3, 0))
        self.assertEqual(byte.build()[-6], 71)
        self.assertEqual(meta.SetMore.parse(meta.SET_MORE, byte.build()), byte)
        word = meta.SetMore(meta.SET_MORE_YEAR_WORD, 30, 2, b"", 1971, 5, 17, (12,))
        self.assertEqual(meta.SetMore.parse(meta.SET_MORE_YEAR_WORD, word.build()), word)
        self.assertEqual(word.columns()["languages"], [12, 0, 0])
        self.assertEqual(meta.SetMore.parse(meta.SET_MORE, meta.SetMore(meta.SET_MORE).build()).birth_year, 0)

    def test_interests(self):
        """Interests: counted entries are read, padding ignored; a count over 4 reads as none."""
        request = meta.SetInterests(meta.SET_INTERESTS, ((100, b"Chess"), (101, b"Go")))
        data = request.build()
        self.assertEqual(meta.SetInterests.parse(meta.SET_INTERESTS, data), request)
        self.assertEqual(meta.SetInterests.parse(meta.SET_INTERESTS, data[:1] + data[1:]).interests[1], (101, b"Go"))
        short = h("01") + h("64 00") + lnts(b"Chess")
        self.assertEqual(meta.SetInterests.parse(meta.SET_INTERESTS, short).interests, ((100, b"Chess"),))
        self.assertEqual(meta.SetInterests.parse(meta.SET_INTERESTS, h("05") + data[1:]).interests, ())

    def test_affiliations(self):
        """Affiliations: IServerd's padded layout and a counted-only layout both parse."""
        request = meta.SetAffiliations(meta.SET_AFFILIATIONS, ((1, b"school"),), ((2, b"club"), (3, b"team")))
        self.assertEqual(meta.SetAffiliations.parse(meta.SET_AFFILIATIONS, request.build()), request)
        counted = b"".join([
            h("01"), h("01 00") + lnts(b"school"),  # one past entry, no padding
            h("02"), h("02 00") + lnts(b"club"), h("03 00") + lnts(b"team"),  # two affiliations
        ])
        self.assertEqual(meta.SetAffiliations.parse(meta.SET_AFFILIATIONS, counted), request)

    def test_security(self):
        """Security in IServerd's order: auth, web aware, hide IP; any non-zero permission hides."""
        self.assertEqual(meta.SetSecurity.parse(meta.SET_SECURITY, h("01 00 02")),
                         meta.SetSecurity(meta.SET_SECURITY, True, False, True))
        self.assertEqual(meta.SetSecurity(meta.SET_SECURITY, False, True, False).build(), h("00 01 00"))

    def test_homepageCategory(self):
        """Homepage category: enabled, category, description (at most 127 bytes)."""
        request = meta.SetHomepageCategory(meta.SET_HOMEPAGE_CATEGORY, True, 7, b"garden")
        self.assertEqual(meta.SetHomepageCategory.parse(meta.SET_HOMEPAGE_CATEGORY, request.build()), request)
        long = meta.SetHomepageCategory(meta.SET_HOMEPAGE_CATEGORY, True, 7, b"g" * 128).build()
        self.assertRaises(meta.FieldTooLong, meta.SetHomepageCategory.parse, meta.SET_HOMEPAGE_CATEGORY, long)

    def test_unregister(self):
        """Unregister: a UIN and a password."""
        request = meta.Unregister(meta.UNREGISTER, 1002, b"secret")
        self.assertEqual(request.build(), h("EA 03 00 00") + lnts(b"secret"))
        self.assertEqual(meta.Unregister.parse(meta.UNREGISTER, request.build()), request)


class SearchRequestTests(unittest.TestCase):
    """
    The search requests of sections 15.5 and 16.
    """

    def test_uinVector(self):
        """Search by UIN (vector 3.6) is one DWORD."""
        request = v5.MetaRequest.parse(MetaSearchUinVector.packet.data)
        self.assertEqual(meta.UinRequest.parse(request.rest), meta.UinRequest(1002))

    def test_name(self):
        """Search by name: first, last, nick, each at most 32 bytes."""
        request = meta.SearchName(b"Robert", b"Smith", b"Bob")
        self.assertEqual(meta.SearchName.parse(request.build()), request)
        self.assertRaises(meta.FieldTooLong, meta.SearchName.parse, meta.SearchName(b"x" * 33).build())

    def test_email(self):
        """Search by e-mail: one string of at most 64 bytes."""
        self.assertEqual(meta.SearchEmail.parse(lnts(b"a@b.c")), meta.SearchEmail(b"a@b.c"))
        self.assertRaises(meta.FieldTooLong, meta.SearchEmail.parse, lnts(b"x" * 65))

    def test_oldSearch(self):
        """The old search: nick, first, last, e-mail."""
        request = meta.OldSearch(b"Bob", b"Robert", b"Smith", b"bob@example.org")
        self.assertEqual(meta.OldSearch.parse(request.build()), request)

    def test_whitePages(self):
        """White pages: the 99b form adds a homepage category; both round-trip."""
        for sub in (meta.WHITE_PAGES_99A, meta.WHITE_PAGES_99B):
            request = meta.WhitePages(sub, b"Anna", b"", b"", b"", 23, 29, 1, 12, b"Paris", b"", 33,
                                      b"ACME", b"", b"", 4, 0, b"", 100, b"chess,go", 0, b"",
                                      5 if sub == meta.WHITE_PAGES_99B else 0,
                                      b"garden" if sub == meta.WHITE_PAGES_99B else b"", True)
            self.assertEqual(meta.WhitePages.parse(sub, request.build()), request)

    def test_whitePagesLicq(self):
        """licq's 0x0533 with empty keywords and zero categories, byte by byte."""
        data = b"".join([
            lnts(b"Anna"), lnts(b""), lnts(b""), lnts(b""),  # first, last, nick, e-mail
            h("17 00 1D 00"),  # ages 23-29
            h("01"), h("00"),  # gender female, no language
            lnts(b""), lnts(b""), h("FF FF"),  # city, state, country unset
            lnts(b""), lnts(b""), lnts(b""), h("00"),  # company, department, position, occupation
            h("00 00") + lnts(b""), h("00 00") + lnts(b""), h("00 00") + lnts(b""),  # past, interests, affiliations
            h("00 00") + lnts(b""),  # homepage
            h("00"),  # online only
        ])
        request = meta.WhitePages.parse(meta.WHITE_PAGES_99B, data)
        self.assertEqual((request.first_name, request.min_age, request.max_age, request.gender, request.country),
                         (b"Anna", 23, 29, 1, 0))
        self.assertEqual(request.build(), data)

    def test_whitePagesPastLimit(self):
        """Past keywords may be 127 bytes in the 99a form, only 63 in the 99b form."""
        for sub, ok in ((meta.WHITE_PAGES_99A, True), (meta.WHITE_PAGES_99B, False)):
            data = meta.WhitePages(sub, past_category=1, past_keywords=b"k" * 100).build()
            if ok:
                self.assertEqual(meta.WhitePages.parse(sub, data).past_keywords, b"k" * 100)
            else:
                self.assertRaises(meta.FieldTooLong, meta.WhitePages.parse, sub, data)


VALID_REQUESTS = [
    (sub, cls(sub).build()) for sub, cls in meta.SET_REQUESTS.items()
    if cls is not meta.SetPassword
] + [
    (meta.SET_PASSWORD, lnts(b"newpass")),
    (meta.SET_BASIC_ZIP_TEXT, meta.SetBasic(meta.SET_BASIC_ZIP_TEXT, **basic_texts()).build()),
    (meta.SET_INTERESTS, meta.SetInterests(meta.SET_INTERESTS, ((1, b"a"), (2, b"b"))).build()),
    (meta.WHITE_PAGES_99A, meta.WhitePages(meta.WHITE_PAGES_99A, b"A").build()),
    (meta.WHITE_PAGES_99B, meta.WhitePages(meta.WHITE_PAGES_99B, b"A").build()),
]
PLAIN_PARSERS = [meta.UinRequest, meta.SearchName, meta.SearchEmail, meta.OldSearch, meta.About,
                 meta.Interests, meta.Affiliations, meta.ShortInfo, meta.HomepageCategory,
                 meta.OldInfo, meta.OldExtInfo]
FORM_PARSERS = [meta.GeneralInfo, meta.MoreInfo, meta.WorkInfo]
VALID_REPLIES = [GENERAL.build(), MORE.build(), WORK.build(), MetaFoundVector.packet.data[3:],
                 meta.OldExtInfo(1, b"c").build()]


def every_parser(data):
    """Run every parser of the module on C{data}; only MalformedPacket may escape."""
    for sub, cls in meta.SET_REQUESTS.items():
        survives(cls.parse, sub, data)
    for sub in (meta.WHITE_PAGES_99A, meta.WHITE_PAGES_99B):
        survives(meta.WhitePages.parse, sub, data)
    for parser in PLAIN_PARSERS:
        survives(parser.parse, data)
    for parser in FORM_PARSERS:
        for b99 in (True, False):
            survives(parser.parse, data, b99)
    for length_word in (True, False):
        for last in (True, False):
            survives(meta.Found.parse, data, length_word, last)


def survives(function, *args):
    try:
        return function(*args)
    except MalformedPacket:
        return None


class RobustnessTests(unittest.TestCase):
    """
    The parsers raise only MalformedPacket (or its subclasses), whatever the bytes.
    """

    @FUZZ
    @given(st.binary(max_size=400))
    def test_random(self, data):
        """Random bytes parse or raise MalformedPacket in every parser."""
        every_parser(data)

    @FUZZ
    @given(mutated([data for _, data in VALID_REQUESTS] + VALID_REPLIES))
    def test_mutated(self, data):
        """Mutated requests and replies parse or raise MalformedPacket in every parser."""
        every_parser(data)

    @given(st.sampled_from(VALID_REQUESTS))
    def test_valid(self, request):
        """The valid requests used as seeds do parse."""
        sub, data = request
        cls = meta.SET_REQUESTS.get(sub)
        if cls is None:
            meta.WhitePages.parse(sub, data)
        else:
            cls.parse(sub, data)

    @FUZZ
    @given(st.binary(max_size=40), st.integers(0, 40))
    def test_basicZipDetection(self, tail, cut):
        """Any ending of a 0x03E9 request parses as one ZIP form or raises MalformedPacket."""
        head = b"".join(lnts(v) for v in basic_texts().values())
        survives(meta.SetBasic.parse, meta.SET_BASIC_ZIP_TEXT, head + tail[:cut])

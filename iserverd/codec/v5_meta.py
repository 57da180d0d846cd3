# -*- test-case-name: tests.test_codec_v5_meta -*-
"""
ICQ v5 user information, search and account requests: the pure codec.

Message flow.  A logged-in client asks for or changes account details with
META_USER (C{0x064A}): a WORD sub-command and its parameters (L{v5.MetaRequest}).
The server acknowledges the packet, then answers with one or more reliable
META replies (C{0x03DE}) that carry the request's SEQ2: a reply sub-command, a
result byte (C{0x0A} success, C{0x32} failure) and data.  A "set" request gets
one reply without data; "get full info" gets seven replies in a fixed order;
a search gets one record per result, the last one with its own sub-command.
The older, pre-META commands (C{0x0460}, C{0x046A}, C{0x041A}, C{0x0424}) have
their own server commands.  Section numbers refer to C{shared/protocol/v5.md}
(15 META, 16 old commands).

Where clients disagree on a layout, the parsers accept every known form; the
comments at each say which client sends which.  Text fields are bytes in the
client's code page; a string is cut at its first NUL (clients write C
strings).  Limits count the bytes before the NUL.  A string longer than its
limit raises L{FieldTooLong}, a L{MalformedPacket} the handler answers with
a failure reply instead of dropping the packet.  Nothing here does I/O.
"""

from dataclasses import astuple, dataclass, fields

from iserverd.codec.errors import MalformedPacket
from iserverd.codec.v5 import META_FAIL, META_OK, PASSWORD_LIMIT, AddToList, meta_reply
from iserverd.codec.wire import Reader, lnts, u8, u16, u32

# META request sub-commands (section 15.2).
SET_BASIC = 0x03E8  # ZIP as a DWORD
SET_BASIC_ZIP_TEXT = 0x03E9  # ZIP as a string (licq, ICQ99b); micq: a DWORD, see SetBasic
SET_WORK = 0x03F2
SET_WORK_ZIP_TEXT = 0x03F3
SET_MORE = 0x03FC  # birth year as a BYTE (years since 1900)
SET_MORE_YEAR_WORD = 0x03FD
SET_ABOUT = 0x0406
SET_INTERESTS = 0x0410
SET_AFFILIATIONS = 0x041A
SET_SECURITY = 0x0424
SET_PASSWORD = 0x042E
SET_HOMEPAGE_CATEGORY = 0x0442
GET_INFO_99A = 0x04B0
GET_INFO_99B = 0x04B1
GET_SHORT_INFO = 0x04BA
UNREGISTER = 0x04C4
GET_OWN_INFO_99A = 0x04CE
GET_INFO_ALL_99B = 0x04CF
SEARCH_NAME = 0x0514
SEARCH_NAME_LW = 0x0515  # "LW": results carry a length word
SEARCH_UIN = 0x051E
SEARCH_UIN_LW = 0x051F
SEARCH_EMAIL = 0x0528
SEARCH_EMAIL_LW = 0x0529
WHITE_PAGES_99A = 0x0532
WHITE_PAGES_99B = 0x0533
USAGE_STATS = 0x06B8
LOGIN_META = 0x07D0

# META reply sub-commands.
REPLY_BASIC_SET = 0x0064
REPLY_WORK_SET = 0x006E
REPLY_MORE_SET = 0x0078
REPLY_ABOUT_SET = 0x0082
REPLY_INTERESTS_SET = 0x008C
REPLY_AFFILIATIONS_SET = 0x0096
REPLY_SECURITY_SET = 0x00A0
REPLY_PASSWORD_SET = 0x00AA
REPLY_UNREGISTER = 0x00B4
REPLY_HOMEPAGE_CATEGORY_SET = 0x00BE
REPLY_GENERAL = 0x00C8
REPLY_WORK = 0x00D2
REPLY_MORE = 0x00DC
REPLY_ABOUT = 0x00E6
REPLY_INTERESTS = 0x00F0
REPLY_AFFILIATIONS = 0x00FA
REPLY_SHORT = 0x0104
REPLY_HOMEPAGE_CATEGORY = 0x010E
REPLY_FOUND = 0x0190
REPLY_LAST_FOUND = 0x019A
REPLY_WP_FOUND = 0x01A4
REPLY_WP_LAST_FOUND = 0x01AE

# Full-info requests: the 99a set of replies (DWORD ZIP, BYTE year) or 99b.
INFO_99A = (GET_INFO_99A, GET_OWN_INFO_99A)
INFO_99B = (GET_INFO_99B, GET_INFO_ALL_99B)

# Wire value of an unset country (stored as 0).
NO_COUNTRY = 0xFFFF
# PASSWORD_LIMIT (imported): a LOGIN carries at most 20 bytes, so a longer
# password set here would lock the account out; v5.md's 32 is not used.
INTERESTS_MAX = 4
PAST_MAX = 3
AFFILIATIONS_MAX = 3


class RefusedField(MalformedPacket):
    """
    A well-formed request with a value the server does not accept: the
    request is answered with a failure reply, the session goes on (IServerd
    disconnected the user, section 20 #15).
    """


class FieldTooLong(RefusedField):
    """A string longer than IServerd's limit for its field (section 15.3)."""

    def __init__(self, what, size, limit):
        RefusedField.__init__(self, "%s of %d bytes exceeds %d" % (what, size, limit))


def _text(r, what, limit=None):
    """An LNTS cut at its first NUL, at most C{limit} bytes."""
    value = r.lnts(what).split(b"\x00", 1)[0]
    if limit is not None and len(value) > limit:
        raise FieldTooLong(what, len(value), limit)
    return value


def _s8(value):
    """A signed byte (time zones are signed half-hours)."""
    return value - 0x100 if value >= 0x80 else value


def _country(value):
    return 0 if value == NO_COUNTRY else value


def _zip_number(text):
    """A ZIP string as the DWORD the 99a forms carry (0 unless all digits)."""
    return int(text) & 0xFFFFFFFF if text.isdigit() else 0


def _zip_text(number):
    return b"%d" % (number,) if number else b""


def _texts(r, spec):
    return [_text(r, what, limit) for what, limit in spec]


# --- set requests (section 15.3) -------------------------------------------


class _SetRequest:
    """
    A set request.  C{reply} is the sub-command of its answer; L{columns}
    gives its values by storage column, which are the field names.
    """

    def columns(self):
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "subcommand"}


_BASIC_TEXTS = (
    ("nick", 31), ("first name", 31), ("last name", 31), ("e-mail", 63),
    ("e-mail 2", 63), ("e-mail 3", 63), ("home city", 31), ("home state", 31),
    ("home phone", 31), ("home fax", 31), ("home street", 63), ("cellular", 31),
)


@dataclass(frozen=True)
class SetBasic(_SetRequest):
    """
    Set basic (home) info, C{0x03E8} (ZIP DWORD) or C{0x03E9} (ZIP string).

    The trailing bytes differ by client (section 20, #6); we read the time
    zone and one byte, as IServerd does, and ignore the rest:

      - IServerd, licq from mid-2000 and ICQ99b: C{0x03E9}, string ZIP,
        country, time zone, hide-e-mail.
      - licq before mid-2000: C{0x03E8}, DWORD ZIP, country, time zone, then
        auth, web-aware, hide-e-mail; IServerd reads the auth byte as
        hide-e-mail, and so do we (the layouts cannot be told apart).
      - micq: C{0x03E9} with a DWORD ZIP, country, time zone, auth,
        web-aware, hide-IP.  Told apart by the string test below; its byte
        after the time zone is not hide-e-mail, so C{hide_email} is L{None}
        (unchanged) and C{zip_dword} is set.

    @ivar hide_email: 1 = do not show e-mail 1 to others; L{None} when the
        client did not send it.
    """

    subcommand: int
    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""
    email2: bytes = b""
    email3: bytes = b""
    home_city: bytes = b""
    home_state: bytes = b""
    home_phone: bytes = b""
    home_fax: bytes = b""
    home_address: bytes = b""
    home_cell: bytes = b""
    home_zip: bytes = b""
    home_country: int = 0
    timezone: int = 0
    hide_email: object = False
    zip_dword: bool = False

    reply = REPLY_BASIC_SET

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        texts = _texts(r, _BASIC_TEXTS)
        dword = subcommand == SET_BASIC or not _string_zip_follows(r)
        if dword:
            home_zip = _zip_text(r.u32("zip"))
        else:
            home_zip = _text(r, "zip", 31)
        country = _country(r.u16("country"))
        timezone = _s8(r.u8("time zone"))
        micq = dword and subcommand == SET_BASIC_ZIP_TEXT
        hide_email = None if micq or not r.remaining() else bool(r.u8())
        return cls(subcommand, *texts, home_zip, country, timezone, hide_email, micq)

    def build(self):
        texts = b"".join(lnts(v) for v in astuple(self)[1:13])
        if self.subcommand == SET_BASIC or self.zip_dword:
            zip_field = u32(_zip_number(self.home_zip))
        else:
            zip_field = lnts(self.home_zip)
        tail = u16(self.home_country or NO_COUNTRY) + u8(self.timezone)
        if self.hide_email is not None:
            tail += u8(int(self.hide_email))
        return texts + zip_field + tail

    def columns(self):
        values = _SetRequest.columns(self)
        del values["zip_dword"]
        if self.hide_email is None:
            del values["hide_email"]
        else:
            values["hide_email"] = bool(self.hide_email)
        return values


def _string_zip_follows(r):
    """
    v5.md section 15.3: the ZIP is a string when the WORD at its place
    announces a NUL-terminated string that leaves room for the country, time
    zone and one flag byte (4 bytes); otherwise it is micq's DWORD.
    """
    data, pos = r.data, r.pos
    if len(data) - pos < 2:
        return True  # too short either way; let the string reader report it
    n = data[pos] | data[pos + 1] << 8
    end = pos + 2 + n
    return n >= 1 and end + 4 <= len(data) and data[end - 1] == 0


_WORK_HEAD = (
    ("work city", 31), ("work state", 31), ("work phone", 63), ("work fax", 63),
    ("work street", 63),
)
_WORK_TAIL = (("company", 63), ("department", 63), ("position", 63))


@dataclass(frozen=True)
class SetWork(_SetRequest):
    """
    Set work info, C{0x03F2} (ZIP DWORD, licq) or C{0x03F3} (ZIP string).
    licq sends ZIP C{0x100} and country C{0xFFFF} as placeholders.
    """

    subcommand: int
    work_city: bytes = b""
    work_state: bytes = b""
    work_phone: bytes = b""
    work_fax: bytes = b""
    work_address: bytes = b""
    work_zip: bytes = b""
    work_country: int = 0
    work_company: bytes = b""
    work_department: bytes = b""
    work_title: bytes = b""
    work_occupation: int = 0
    work_homepage: bytes = b""

    reply = REPLY_WORK_SET

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        head = _texts(r, _WORK_HEAD)
        if subcommand == SET_WORK:
            work_zip = _zip_text(r.u32("zip"))
        else:
            work_zip = _text(r, "zip", 64)
        country = _country(r.u16("country"))
        company, department, title = _texts(r, _WORK_TAIL)
        occupation = r.u16("occupation")
        homepage = _text(r, "work homepage", 127)
        return cls(subcommand, *head, work_zip, country, company, department, title,
                   occupation, homepage)

    def build(self):
        head = b"".join(lnts(v) for v in astuple(self)[1:6])
        if self.subcommand == SET_WORK:
            zip_field = u32(_zip_number(self.work_zip))
        else:
            zip_field = lnts(self.work_zip)
        return (
            head + zip_field + u16(self.work_country or NO_COUNTRY)
            + lnts(self.work_company) + lnts(self.work_department) + lnts(self.work_title)
            + u16(self.work_occupation) + lnts(self.work_homepage)
        )


def _languages(values):
    values = tuple(values)[:3]
    return values + (0,) * (3 - len(values))


@dataclass(frozen=True)
class SetMore(_SetRequest):
    """
    Set more info, C{0x03FC} (birth year as a BYTE, years since 1900: ICQ99a)
    or C{0x03FD} (a WORD, the full year: ICQ99b, licq).  micq writes month,
    day and languages as WORDs; that layout is not accepted (v5.md 15.3).

    @ivar birth_year: the full year, 0 when unset (a BYTE 0 stays 0, not 1900).
    """

    subcommand: int
    age: int = 0
    gender: int = 0
    homepage: bytes = b""
    birth_year: int = 0
    birth_month: int = 0
    birth_day: int = 0
    languages: tuple = (0, 0, 0)

    reply = REPLY_MORE_SET

    def __post_init__(self):
        object.__setattr__(self, "languages", _languages(self.languages))

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        age, gender = r.u16("age"), r.u8("gender")
        homepage = _text(r, "homepage", 127)
        if subcommand == SET_MORE:
            year = r.u8("birth year")
            year = 1900 + year if year else 0
        else:
            year = r.u16("birth year")
        month, day = r.u8("birth month"), r.u8("birth day")
        languages = (r.u8("language 1"), r.u8("language 2"), r.u8("language 3"))
        return cls(subcommand, age, gender, homepage, year, month, day, languages)

    def build(self):
        if self.subcommand == SET_MORE:
            year = u8(max(self.birth_year - 1900, 0) if self.birth_year else 0)
        else:
            year = u16(self.birth_year)
        return (
            u16(self.age) + u8(self.gender) + lnts(self.homepage) + year
            + u8(self.birth_month) + u8(self.birth_day) + bytes(self.languages)
        )

    def columns(self):
        values = _SetRequest.columns(self)
        values["languages"] = list(self.languages)
        return values


@dataclass(frozen=True)
class SetAbout(_SetRequest):
    """Set about (notes), C{0x0406}: one LNTS (licq turns LF into CR LF)."""

    subcommand: int
    notes: bytes = b""

    reply = REPLY_ABOUT_SET

    @classmethod
    def parse(cls, subcommand, data):
        return cls(subcommand, _text(Reader(data), "about", 1024))

    def build(self):
        return lnts(self.notes)


def _entries(r, count, what, limit):
    return tuple(
        (r.u16(what + " category"), _text(r, what + " keywords", limit)) for _ in range(count)
    )


def _build_entries(entries, pad_to=None):
    entries = list(entries)
    if pad_to is not None:
        entries += [(0, b"")] * (pad_to - len(entries))
    return b"".join(u16(category) + lnts(keywords) for category, keywords in entries)


def _pairs(values):
    return tuple((int(c), bytes(k)) for c, k in values)


@dataclass(frozen=True)
class SetInterests(_SetRequest):
    """
    Set interests, C{0x0410}: BYTE count (over 4 reads as 0, as in
    IServerd), then (WORD category, LNTS keywords) entries.  IServerd reads
    four entries whatever the count; we read C{count} and ignore the rest, so
    a client that sends only the used entries works too.
    """

    subcommand: int
    interests: tuple = ()

    reply = REPLY_INTERESTS_SET

    def __post_init__(self):
        object.__setattr__(self, "interests", _pairs(self.interests))

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        count = r.u8("interests count")
        if count > INTERESTS_MAX:
            count = 0
        return cls(subcommand, _entries(r, count, "interest", 63))

    def build(self):
        return u8(len(self.interests)) + _build_entries(self.interests, INTERESTS_MAX)


@dataclass(frozen=True)
class SetAffiliations(_SetRequest):
    """
    Set past backgrounds and affiliations, C{0x041A}: BYTE past count, three
    entries, BYTE affiliation count, three entries (IServerd's layout).  A
    client that writes only the counted entries is accepted as well: when
    the three-entry reading does not fit the packet, the counted one is
    tried.
    """

    subcommand: int
    past: tuple = ()
    affiliations: tuple = ()

    reply = REPLY_AFFILIATIONS_SET

    def __post_init__(self):
        object.__setattr__(self, "past", _pairs(self.past))
        object.__setattr__(self, "affiliations", _pairs(self.affiliations))

    @classmethod
    def parse(cls, subcommand, data):
        try:
            return cls._parse(subcommand, data, padded=True)
        except RefusedField:
            raise
        except MalformedPacket:
            return cls._parse(subcommand, data, padded=False)

    @classmethod
    def _parse(cls, subcommand, data, padded):
        r = Reader(data)
        groups = []
        for what, most in (("past", PAST_MAX), ("affiliation", AFFILIATIONS_MAX)):
            count = r.u8(what + " count")
            count = count if count <= most else 0
            entries = _entries(r, most if padded else count, what, 63)
            groups.append(entries[:count])
        return cls(subcommand, *groups)

    def build(self):
        return (
            u8(len(self.past)) + _build_entries(self.past, PAST_MAX)
            + u8(len(self.affiliations)) + _build_entries(self.affiliations, AFFILIATIONS_MAX)
        )


@dataclass(frozen=True)
class SetSecurity(_SetRequest):
    """
    Set security, C{0x0424}: BYTE authorization required, BYTE web aware,
    BYTE direct-connection permission (1 = hide IP; other non-zero values
    count as 1).  This is IServerd's order (section 20, #5); licq's v5 build
    swaps the last two bytes, and its settings land swapped, as with IServerd.
    """

    subcommand: int
    auth_required: bool = False
    web_aware: bool = True
    hide_ip: bool = False

    reply = REPLY_SECURITY_SET

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        return cls(subcommand, bool(r.u8("authorization")), bool(r.u8("web aware")),
                   bool(r.u8("direct connection permission")))

    def build(self):
        return u8(int(self.auth_required)) + u8(int(self.web_aware)) + u8(int(self.hide_ip))


@dataclass(frozen=True)
class SetPassword(_SetRequest):
    """Set password, C{0x042E}: one LNTS (empty or over 20 bytes: refused)."""

    subcommand: int
    password: bytes = b""

    reply = REPLY_PASSWORD_SET

    @classmethod
    def parse(cls, subcommand, data):
        password = _text(Reader(data), "password", PASSWORD_LIMIT)
        if not password:
            raise RefusedField("empty password")
        return cls(subcommand, password)

    def build(self):
        return lnts(self.password)


@dataclass(frozen=True)
class SetHomepageCategory(_SetRequest):
    """Set homepage category, C{0x0442}: BYTE enabled, WORD category, LNTS description."""

    subcommand: int
    homepage_category_enabled: bool = False
    homepage_category: int = 0
    homepage_description: bytes = b""

    reply = REPLY_HOMEPAGE_CATEGORY_SET

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        enabled, category = bool(r.u8("enabled")), r.u16("category")
        return cls(subcommand, enabled, category, _text(r, "homepage description", 127))

    def build(self):
        return (
            u8(int(self.homepage_category_enabled)) + u16(self.homepage_category)
            + lnts(self.homepage_description)
        )


@dataclass(frozen=True)
class Unregister(_SetRequest):
    """Unregister, C{0x04C4}: DWORD UIN, LNTS password."""

    subcommand: int
    uin: int = 0
    password: bytes = b""

    reply = REPLY_UNREGISTER

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        return cls(subcommand, r.u32("uin"), _text(r, "password", 32))

    def build(self):
        return u32(self.uin) + lnts(self.password)


SET_REQUESTS = {
    SET_BASIC: SetBasic,
    SET_BASIC_ZIP_TEXT: SetBasic,
    SET_WORK: SetWork,
    SET_WORK_ZIP_TEXT: SetWork,
    SET_MORE: SetMore,
    SET_MORE_YEAR_WORD: SetMore,
    SET_ABOUT: SetAbout,
    SET_INTERESTS: SetInterests,
    SET_AFFILIATIONS: SetAffiliations,
    SET_SECURITY: SetSecurity,
    SET_PASSWORD: SetPassword,
    SET_HOMEPAGE_CATEGORY: SetHomepageCategory,
    UNREGISTER: Unregister,
}


# --- info and search requests (sections 15.4, 15.5, 16) --------------------


class UinRequest(AddToList):
    """
    A request whose parameter is one DWORD UIN (the layout of ADD_TO_LIST):
    the info requests, search by UIN, and the old C{0x0460}/C{0x046A}/
    C{0x041A} commands.
    """


@dataclass(frozen=True)
class SearchName:
    """Search by name, C{0x0514}/C{0x0515}: LNTS first, last, nick (each at most 32)."""

    first_name: bytes = b""
    last_name: bytes = b""
    nick: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(*_texts(r, (("first name", 32), ("last name", 32), ("nick", 32))))

    def build(self):
        return lnts(self.first_name) + lnts(self.last_name) + lnts(self.nick)


@dataclass(frozen=True)
class SearchEmail:
    """Search by e-mail, C{0x0528}/C{0x0529}: one LNTS (at most 64)."""

    email: bytes = b""

    @classmethod
    def parse(cls, data):
        return cls(_text(Reader(data), "e-mail", 64))

    def build(self):
        return lnts(self.email)


@dataclass(frozen=True)
class OldSearch:
    """The old search, C{0x0424}: LNTS nick, first, last, e-mail (each at most 32)."""

    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(*_texts(r, (("nick", 32), ("first name", 32), ("last name", 32), ("e-mail", 32))))

    def build(self):
        return b"".join(lnts(v) for v in astuple(self))


@dataclass(frozen=True)
class WhitePages:
    """
    White-pages search, C{0x0532} (ICQ99a) and C{0x0533} (ICQ99b, licq):
    the same fields, except that the 99b form allows only 63 bytes of past
    keywords and adds a homepage category and keywords before the final
    "online only" byte.  licq sends empty keywords and zero categories.
    micq writes the language as a WORD; its requests misparse, as with
    IServerd.  Keyword texts hold up to six comma-separated keywords.
    """

    subcommand: int = WHITE_PAGES_99B
    first_name: bytes = b""
    last_name: bytes = b""
    nick: bytes = b""
    email: bytes = b""
    min_age: int = 0
    max_age: int = 0
    gender: int = 0
    language: int = 0
    city: bytes = b""
    state: bytes = b""
    country: int = 0
    company: bytes = b""
    department: bytes = b""
    position: bytes = b""
    occupation: int = 0
    past_category: int = 0
    past_keywords: bytes = b""
    interests_category: int = 0
    interests_keywords: bytes = b""
    affiliations_category: int = 0
    affiliations_keywords: bytes = b""
    homepage_category: int = 0
    homepage_keywords: bytes = b""
    online_only: bool = False

    @classmethod
    def parse(cls, subcommand, data):
        r = Reader(data)
        names = _texts(r, (("first name", 32), ("last name", 32), ("nick", 32), ("e-mail", 63)))
        min_age, max_age = r.u16("min age"), r.u16("max age")
        gender, language = r.u8("gender"), r.u8("language")
        city, state = _texts(r, (("city", 32), ("state", 32)))
        country = _country(r.u16("country"))
        company, department, position = _texts(r, (("company", 32), ("department", 32), ("position", 32)))
        occupation = r.u8("occupation")
        past = (r.u16("past category"),
                _text(r, "past keywords", 63 if subcommand == WHITE_PAGES_99B else 127))
        interests = (r.u16("interests category"), _text(r, "interests keywords", 127))
        affiliations = (r.u16("affiliations category"), _text(r, "affiliations keywords", 127))
        homepage = (0, b"")
        if subcommand == WHITE_PAGES_99B:
            homepage = (r.u16("homepage category"), _text(r, "homepage keywords", 127))
        online_only = bool(r.u8_or())
        return cls(subcommand, *names, min_age, max_age, gender, language, city, state,
                   country, company, department, position, occupation, *past, *interests,
                   *affiliations, *homepage, online_only)

    def build(self):
        data = (
            lnts(self.first_name) + lnts(self.last_name) + lnts(self.nick) + lnts(self.email)
            + u16(self.min_age) + u16(self.max_age) + u8(self.gender) + u8(self.language)
            + lnts(self.city) + lnts(self.state) + u16(self.country or NO_COUNTRY)
            + lnts(self.company) + lnts(self.department) + lnts(self.position)
            + u8(self.occupation)
            + u16(self.past_category) + lnts(self.past_keywords)
            + u16(self.interests_category) + lnts(self.interests_keywords)
            + u16(self.affiliations_category) + lnts(self.affiliations_keywords)
        )
        if self.subcommand == WHITE_PAGES_99B:
            data += u16(self.homepage_category) + lnts(self.homepage_keywords)
        return data + u8(int(self.online_only))


# --- replies (sections 15.4, 15.5, 16) -------------------------------------


def _read_texts(r, count, what):
    return [_text(r, what) for _ in range(count)]


@dataclass(frozen=True)
class GeneralInfo:
    """
    Reply C{0x00C8}, general info.  The 99a form (answering C{0x04B0},
    C{0x04CE}) has a DWORD ZIP and ends with auth, web-aware and hide-IP
    bytes; the 99b form (C{0x04B1}, C{0x04CF}) has a string ZIP and ends
    with 1 and the hide-e-mail flag.  The time zone is a WORD, the signed
    byte sign-extended, as IServerd's v5 module wrote it (section 20, #7;
    Wireshark and the later OSCAR layout read one byte, licq reads only the
    first, so the WORD suits every v5 client).  An unset country is C{0xFFFF}.
    """

    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""
    email2: bytes = b""
    email3: bytes = b""
    home_city: bytes = b""
    home_state: bytes = b""
    home_phone: bytes = b""
    home_fax: bytes = b""
    home_address: bytes = b""
    home_cell: bytes = b""
    home_zip: bytes = b""
    home_country: int = 0
    timezone: int = 0
    auth_required: bool = False
    web_aware: bool = True
    hide_ip: bool = False
    hide_email: bool = False
    b99: bool = True

    code = REPLY_GENERAL

    @classmethod
    def parse(cls, data, b99=True):
        r = Reader(data)
        texts = _read_texts(r, 12, "general info text")
        home_zip = _text(r, "zip") if b99 else _zip_text(r.u32("zip"))
        country = _country(r.u16("country"))
        timezone = _s8(r.u16("time zone") & 0xFF)
        a, b, c = r.u8(), r.u8(), r.u8()
        r.u8(), r.u8()
        if b99:
            return cls(*texts, home_zip, country, timezone, hide_email=bool(b), b99=True)
        return cls(*texts, home_zip, country, timezone, bool(a), bool(b), bool(c), b99=False)

    def build(self):
        texts = b"".join(lnts(v) for v in astuple(self)[:12])
        zip_field = lnts(self.home_zip) if self.b99 else u32(_zip_number(self.home_zip))
        head = texts + zip_field + u16(self.home_country or NO_COUNTRY) + u16(self.timezone)
        if self.b99:
            return head + bytes((1, int(self.hide_email), 0, 0, 0))
        return head + bytes((int(self.auth_required), int(self.web_aware), int(self.hide_ip), 0, 0))


@dataclass(frozen=True)
class MoreInfo:
    """
    Reply C{0x00DC}, more info: the birth year is a BYTE (years since 1900)
    in the 99a form and a WORD in the 99b form.
    """

    age: int = 0
    gender: int = 0
    homepage: bytes = b""
    birth_year: int = 0
    birth_month: int = 0
    birth_day: int = 0
    languages: tuple = (0, 0, 0)
    b99: bool = True

    code = REPLY_MORE

    def __post_init__(self):
        object.__setattr__(self, "languages", _languages(self.languages))

    @classmethod
    def parse(cls, data, b99=True):
        request = SetMore.parse(SET_MORE_YEAR_WORD if b99 else SET_MORE, data)
        return cls(*astuple(request)[1:7], request.languages, b99)

    def build(self):
        request = SetMore(SET_MORE_YEAR_WORD if self.b99 else SET_MORE,
                          *astuple(self)[:6], self.languages)
        return request.build()


@dataclass(frozen=True)
class HomepageCategory:
    """Reply C{0x010E}: BYTE enabled, WORD category, LNTS description, BYTE 0."""

    enabled: bool = False
    category: int = 0
    description: bytes = b""

    code = REPLY_HOMEPAGE_CATEGORY

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        value = cls(bool(r.u8("enabled")), r.u16("category"), _text(r, "description"))
        r.u8()
        return value

    def build(self):
        return u8(int(self.enabled)) + u16(self.category) + lnts(self.description) + u8(0)


@dataclass(frozen=True)
class WorkInfo:
    """
    Reply C{0x00D2}, work info; the ZIP is a DWORD in the 99a form and a
    string in the 99b form.
    """

    work_city: bytes = b""
    work_state: bytes = b""
    work_phone: bytes = b""
    work_fax: bytes = b""
    work_address: bytes = b""
    work_zip: bytes = b""
    work_country: int = 0
    work_company: bytes = b""
    work_department: bytes = b""
    work_title: bytes = b""
    work_occupation: int = 0
    work_homepage: bytes = b""
    b99: bool = True

    code = REPLY_WORK

    @classmethod
    def parse(cls, data, b99=True):
        r = Reader(data)
        head = _read_texts(r, 5, "work info text")
        work_zip = _text(r, "zip") if b99 else _zip_text(r.u32("zip"))
        country = _country(r.u16("country"))
        tail = _read_texts(r, 3, "work info text")
        occupation = r.u16("occupation")
        return cls(*head, work_zip, country, *tail, occupation, _text(r, "homepage"), b99)

    def build(self):
        request = SetWork(SET_WORK_ZIP_TEXT if self.b99 else SET_WORK, *astuple(self)[:12])
        return request.build()


@dataclass(frozen=True)
class About:
    """Reply C{0x00E6}: LNTS notes."""

    notes: bytes = b""

    code = REPLY_ABOUT

    @classmethod
    def parse(cls, data):
        return cls(_text(Reader(data), "notes"))

    def build(self):
        return lnts(self.notes)


@dataclass(frozen=True)
class Interests:
    """Reply C{0x00F0}: BYTE count (0-4), then that many (WORD category, LNTS keywords)."""

    interests: tuple = ()

    code = REPLY_INTERESTS

    def __post_init__(self):
        object.__setattr__(self, "interests", _pairs(self.interests[:INTERESTS_MAX]))

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        return cls(_entries(r, r.u8("interests count"), "interest", None))

    def build(self):
        return u8(len(self.interests)) + _build_entries(self.interests)


@dataclass(frozen=True)
class Affiliations:
    """
    Reply C{0x00FA}: as IServerd, always three past entries and three
    affiliations (unused ones empty) with counts of 3, then WORD 0, WORD 1,
    BYTE 0.
    """

    past: tuple = ()
    affiliations: tuple = ()

    code = REPLY_AFFILIATIONS

    def __post_init__(self):
        object.__setattr__(self, "past", _pairs(self.past[:PAST_MAX]))
        object.__setattr__(self, "affiliations", _pairs(self.affiliations[:AFFILIATIONS_MAX]))

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        groups = []
        for what in ("past", "affiliation"):
            entries = _entries(r, r.u8(what + " count"), what, None)
            groups.append(tuple(e for e in entries if e != (0, b"")))
        return cls(*groups)

    def build(self):
        return (
            u8(PAST_MAX) + _build_entries(self.past, PAST_MAX)
            + u8(AFFILIATIONS_MAX) + _build_entries(self.affiliations, AFFILIATIONS_MAX)
            + u16(0) + u16(1) + u8(0)
        )


@dataclass(frozen=True)
class ShortInfo:
    """
    Reply C{0x0104}: LNTS nick, first, last, e-mail (IServerd's public
    e-mail 2), BYTE auth, BYTE gender, BYTE 0.
    """

    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""
    auth_required: bool = False
    gender: int = 0

    code = REPLY_SHORT

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        texts = _read_texts(r, 4, "short info text")
        value = cls(*texts, bool(r.u8("auth")), r.u8("gender"))
        r.u8()
        return value

    def build(self):
        return (
            b"".join(lnts(v) for v in astuple(self)[:4])
            + u8(int(self.auth_required)) + u8(self.gender) + u8(0)
        )


@dataclass(frozen=True)
class Found:
    """
    One search result (META records C{0x0190}/C{0x019A}, white pages
    C{0x01A4}/C{0x01AE}).

    Layout: [WORD length] DWORD UIN, LNTS nick, first, last, e-mail (e-mail
    2), BYTE auth, BYTE status, [BYTE 0], and in the last record a DWORD.
    The length word and the extra zero byte are in the replies to the odd
    request codes.  For the byte after the auth flag and the final DWORD we
    follow the clients (section 20, #8): licq and the ICQ2000-era clients
    read the byte as the user's status (1 online, 0 not) and the DWORD as
    further results; IServerd wrote a constant or an unloaded "web aware"
    byte and a 0/1 flag.  The DWORD is 1 when the results were cut and 0
    otherwise: the server asks the database for one row more than it sends,
    so it knows that more exist, not how many.
    """

    uin: int
    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""
    auth_required: bool = False
    online: bool = False

    def build(self, length_word=False, more=None):
        """
        @param more: for the last record, the "more results" DWORD; L{None}
            for the others.
        """
        body = (
            u32(self.uin) + lnts(self.nick) + lnts(self.first_name) + lnts(self.last_name)
            + lnts(self.email) + u8(int(self.auth_required)) + u8(int(self.online))
        )
        if length_word:
            body += u8(0)
            body = u16(len(body)) + body
        return body + (u32(more) if more is not None else b"")

    @classmethod
    def parse(cls, data, length_word=False, last=False):
        """@return: C{(found, more)}; C{more} is L{None} unless C{last}."""
        r = Reader(data)
        if length_word:
            r.u16("record length")
        uin = r.u32("uin")
        texts = _read_texts(r, 4, "result text")
        found = cls(uin, *texts, bool(r.u8("auth")), bool(r.u8("status")))
        if length_word:
            r.u8()
        return found, (r.u32("more") if last else None)


def search_replies(results, subcommand, more):
    """
    The META reply data (sub-command, result, record) for a search answer.

    @param results: the L{Found} records to send (already capped).
    @param subcommand: the request's sub-command; odd codes take the length
        word form; the white-pages codes take their own reply sub-commands.
    @param more: whether results were left out.
    @return: a list of reply data, at least one ("none found" when empty).
    """
    white_pages = subcommand in (WHITE_PAGES_99A, WHITE_PAGES_99B)
    found, last = (REPLY_WP_FOUND, REPLY_WP_LAST_FOUND) if white_pages else (REPLY_FOUND, REPLY_LAST_FOUND)
    length_word = bool(subcommand & 1)
    if not results:
        # The no-length-word name/UIN/e-mail form still carries the DWORD 0.
        tail = u32(0) if not (length_word or white_pages) else b""
        return [meta_reply(last, META_FAIL, tail)]
    replies = [meta_reply(found, META_OK, r.build(length_word)) for r in results[:-1]]
    replies.append(meta_reply(last, META_OK, results[-1].build(length_word, int(bool(more)))))
    return replies


def info_replies(general, more, homepage, work, about, interests, affiliations):
    """
    The seven replies to a full-info request, in the order of section 15.4
    (licq completes its request only after all seven).
    """
    parts = (general, more, homepage, work, about, interests, affiliations)
    return [meta_reply(p.code, META_OK, p.build()) for p in parts]


# --- the old commands (section 16) -----------------------------------------


@dataclass(frozen=True)
class OldInfo:
    """
    INFO_REPLY (C{0x0118}) to C{0x0460}: DWORD UIN, LNTS nick, first, last,
    e-mail (e-mail 2), BYTE auth.
    """

    uin: int
    nick: bytes = b""
    first_name: bytes = b""
    last_name: bytes = b""
    email: bytes = b""
    auth_required: bool = False

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        uin = r.u32("uin")
        return cls(uin, *_read_texts(r, 4, "info text"), bool(r.u8("auth")))

    def build(self):
        return (
            u32(self.uin) + b"".join(lnts(v) for v in astuple(self)[1:5])
            + u8(int(self.auth_required))
        )


@dataclass(frozen=True)
class OldExtInfo:
    """
    EXT_INFO_REPLY (C{0x0122}) to C{0x046A}: DWORD UIN, LNTS home city,
    WORD country, BYTE time zone, LNTS home state, WORD age, BYTE gender,
    LNTS home phone, LNTS homepage, LNTS notes, DWORD ZIP.

    IServerd put a constant 1 where licq reads the time zone and left out the
    ZIP licq reads at the end; we send both, which clients that stop earlier
    ignore.
    """

    uin: int
    home_city: bytes = b""
    home_country: int = 0
    timezone: int = 0
    home_state: bytes = b""
    age: int = 0
    gender: int = 0
    home_phone: bytes = b""
    homepage: bytes = b""
    notes: bytes = b""
    home_zip: bytes = b""

    @classmethod
    def parse(cls, data):
        r = Reader(data)
        uin, city = r.u32("uin"), _text(r, "city")
        country, timezone = _country(r.u16("country")), _s8(r.u8("time zone"))
        state, age, gender = _text(r, "state"), r.u16("age"), r.u8("gender")
        phone, homepage, notes = _read_texts(r, 3, "ext info text")
        return cls(uin, city, country, timezone, state, age, gender, phone, homepage, notes,
                   _zip_text(r.u32_or()))

    def build(self):
        return (
            u32(self.uin) + lnts(self.home_city) + u16(self.home_country or NO_COUNTRY)
            + u8(self.timezone) + lnts(self.home_state) + u16(self.age) + u8(self.gender)
            + lnts(self.home_phone) + lnts(self.homepage) + lnts(self.notes)
            + u32(_zip_number(self.home_zip))
        )


def old_found(found):
    """USER_FOUND (C{0x008C}): as a META record without length word or DWORD."""
    return found.build()


def end_of_search(more):
    """END_OF_SEARCH (C{0x00A0}): BYTE 1 when results were cut (IServerd: always 0)."""
    return u8(int(bool(more)))


def invalid_uin(uin):
    """INVALID_UIN (C{0x012C}): the unknown UIN."""
    return u32(uin)

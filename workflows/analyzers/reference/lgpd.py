"""Reference `lgpd` analyzer: personal identifiers and health context (mirrors plugins/lgpd.c).

One left-to-right pass over the folded bytes; each match is consumed, so findings never overlap.
The pass remembers where the last business marker (a CRM number, a doctor's title, a clinic word)
and the last patient marker ended, which decides whether a contact is the author's
(business_contact) or a patient's. Names without a title are looked up in the IBGE given-name
gazetteer (reference/given_names.txt, built by gazetteer.py). The algorithm is described rule by
rule in docs/analyzers.md; every function has a C twin of the same name in plugins/lgpd.c.
"""

from __future__ import annotations

import re

from ..gazetteer import load_names
from .lexicon import KINDS
from .text import (
    Lexicon,
    ch,
    char_len,
    crm_number_end,
    digits,
    fold,
    is_alpha,
    is_digit,
    letter_at,
    num_end_ok,
    num_start_ok,
    prev_word,
    rqe_number_end,
    skip_filler,
    space_len,
    span_in,
    word_at,
    word_before,
    word_end,
)

_LEXICON = Lexicon("lgpd")
(
    HEALTH,
    TITLE,
    BIRTH_LABEL,
    RG_LABEL,
    CEP_LABEL,
    CID_LABEL,
    CRM_LABEL,
    RQE_LABEL,
    DOCTOR,
    WEAK_TITLE,
    ROLE,
    BUSINESS,
    INSTITUTION,
    PATIENT_CTX,
    STREET,
    RECORD_LABEL,
    PLAN_LABEL,
    AGE_LABEL,
    PHOTO,
    RARE,
    PLACE_LABEL,
) = range(len(KINDS["lgpd"]))
GIVEN_NAMES = frozenset(name.encode() for name in load_names())
MAX_EMAIL_LOCAL = 64
MAX_EMAIL_DOMAIN = 255
MAX_GIVEN_NAME = 24
# Business context (docs/analyzers.md, "Business contact data"): how far a business marker may
# stand before or after a contact identifier, and how far a line is looked at for headlines.
BUSINESS_BEFORE = 160
BUSINESS_AFTER = 60
PROFESSIONAL_AFTER = 40
ROLE_BEFORE_WORDS = 3
LINE_WINDOW = 200
_EMAIL_LOCAL = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_DOMAIN = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-")
_LABEL_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
_CONNECTORS = (b"dos", b"das", b"da", b"de", b"do", b"e")
_CONTACT_RULES = ("phone", "email", "cep", "address")
_MONTHS = (
    b"janeiro",
    b"fevereiro",
    "março".encode(),
    b"marco",
    b"abril",
    b"maio",
    b"junho",
    b"julho",
    b"agosto",
    b"setembro",
    b"outubro",
    b"novembro",
    b"dezembro",
)
# Words before "NN anos" that make it a span of time or an age group, not someone's age.
_AGE_STOP_BEFORE = (
    b"em",
    b"nos",
    b"uns",
    b"alguns",
    b"poucos",
    "vários".encode(),
    b"muitos",
    "há".encode(),
    b"ha",
    b"por",
    b"durante",
    "após".encode(),
    b"apos",
    "últimos".encode(),
    b"ultimos",
    "próximos".encode(),
    b"proximos",
    b"dos",
    b"acima",
    b"maiores",
    b"menores",
    "até".encode(),
    b"ate",
    b"entre",
    b"cada",
    b"primeiros",
    b"completa",
    b"completou",
    b"comemora",
)
_AGE_STOP_BEFORE_DE = (b"mais", b"acima", b"cerca", b"menos", b"maiores", b"menores")
_AGE_STOP_AFTER = ("atrás".encode(), b"atras")
_UNTITLED_STOP_BEFORE = (
    b"em",
    b"no",
    b"na",
    b"pela",
    b"pelo",
    b"ao",
    "à".encode(),
)
_COMPLEMENTS = (
    b"apto",
    b"apartamento",
    b"ap",
    b"apt",
    b"bloco",
    b"bl",
    b"casa",
    b"sala",
    b"conjunto",
    b"cj",
    b"conj",
    b"lote",
    b"quadra",
    b"andar",
    b"loja",
)
_NOT_INITIALS = (b"s.a.", b"p.s.", b"e.u.a.", b"a.c.", b"d.c.", b"u.s.", b"u.k.", b"s.a")
_UFS = (
    b"AC", b"AL", b"AP", b"AM", b"BA", b"CE", b"DF", b"ES", b"GO", b"MA", b"MT", b"MS", b"MG",
    b"PA", b"PB", b"PR", b"PE", b"PI", b"RJ", b"RN", b"RS", b"RO", b"RR", b"SC", b"SP", b"SE",
    b"TO",
)  # fmt: skip
_DOT_WORDS = (b"ponto", b"dot")
# Where an "at" may start (a speed-up of the byte loop in lgpd.c; _at_token_end decides).
_AT_ANCHOR = re.compile(rb"[@\[({]|(?<= )arroba ")
_AT_BRACKETS = (b"[at]", b"(at)", b"[arroba]", b"(arroba)", b"{at}")
_DOT_BRACKETS = (b"[.]", b"(.)", b"[dot]", b"(dot)", b"[ponto]", b"(ponto)")


class _State:
    """What the scan remembers: where the last business and patient markers ended."""

    def __init__(self) -> None:
        self.business = -1
        self.patient = -1


def analyze(data: bytes) -> list[tuple[str, int, int]]:
    """Findings as (rule, start byte, end byte) in text order."""
    f = fold(data)
    n = len(f)
    emails = find_emails(f, n)
    out: list[tuple[str, int, int]] = []
    st = _State()
    p = ei = 0
    while p < n:
        while ei < len(emails) and emails[ei][0] < p:
            ei += 1
        if ei < len(emails) and emails[ei][0] == p:
            _contact(f, n, st, out, "email", p, emails[ei][1])
            p = emails[ei][1]
            ei += 1
            continue
        b = f[p]
        if word_at(f, p, n) and not word_before(f, p):
            if is_digit(b):
                rule, e = number_at(f, p, n)
                if e >= 0:
                    _report(f, n, st, out, rule, p, e)
                    p = e
                else:
                    p = word_end(f, p, n)
                continue
            e = initials_end(data, f, p, n)  # before keywords: "R.M." is initials, "R. X" a street
            if e >= 0:
                out.append(("initials", p, e))
                p = e
                continue
            kind, q = _LEXICON.match(f, p, n)
            if kind >= 0:
                p = _after_keyword(data, f, n, kind, p, q, out, st)
                continue
            e = cid_end(data, f, p, n, allow_bare=False)
            if e >= 0:
                out.append(("cid10", p, e))
                p = e
                continue
            p = _capitalised(data, f, n, p, out, st)
            continue
        if b in (0x2B, 0x28) and num_start_ok(f, p):  # '+' or '(' opens a phone number
            e = phone_end(f, p, n)
            if e >= 0:
                _contact(f, n, st, out, "phone", p, e)
                p = e
                continue
        p += 1
    return out


def _report(f: bytes, n: int, st: _State, out: list, rule: str, p: int, e: int) -> None:
    if rule in _CONTACT_RULES:
        _contact(f, n, st, out, rule, p, e)
    else:
        out.append((rule, p, e))


def _contact(f: bytes, n: int, st: _State, out: list, rule: str, p: int, e: int) -> None:
    """A contact identifier is the author's (business_contact) in a business context."""
    out.append(("business_contact" if _business_context(f, n, st, p, e) else rule, p, e))


def _line_start(f: bytes, p: int, limit: int) -> int:
    """The start of p's line, looking back at most `limit` bytes."""
    s = p
    while s > 0 and p - s < limit and f[s - 1] != 0x0A:
        s -= 1
    return s


def _business_context(f: bytes, n: int, st: _State, p: int, e: int) -> bool:
    """No patient marker earlier on the line, and a business marker (a CRM or RQE number, a
    doctor's title, a clinic word) at most BUSINESS_BEFORE bytes before or BUSINESS_AFTER after
    on the same line."""
    # (the line is looked at only when the marker is near enough to be on it)
    if p - BUSINESS_BEFORE < st.patient and st.patient > _line_start(f, p, BUSINESS_BEFORE):
        return False
    if st.business >= 0 and p - st.business <= BUSINESS_BEFORE:
        return True
    k = e
    limit = min(n, e + BUSINESS_AFTER)
    while k < limit and f[k] != 0x0A:
        if word_at(f, k, n) and not word_before(f, k) and f[k - 1] not in b"@.":
            kind, q = _LEXICON.match(f, k, n)
            if kind in (BUSINESS, DOCTOR):
                return True
            if kind == CRM_LABEL and crm_number_end(f, q, n) >= 0:
                return True
            if kind == RQE_LABEL and rqe_number_end(f, q, n) >= 0:
                return True
            k = q if kind >= 0 else word_end(f, k, n)
        else:
            k += 1
    return False


def _after_keyword(
    data: bytes, f: bytes, n: int, kind: int, p: int, q: int, out: list, st: _State
) -> int:
    """Act on a keyword found at [p, q); return where scanning resumes."""
    if kind == HEALTH:
        out.append(("health_term", p, q))
        return q
    if kind == RARE:
        out.append(("rare_condition", p, q))
        return q
    if kind == PHOTO:
        out.append(("identifying_photo", p, q))
        return q
    if kind == PATIENT_CTX:
        st.patient = q
        return q
    if kind == CRM_LABEL:
        e = crm_number_end(f, q, n)
        if e < 0:
            return q
        st.business = e
        return e
    if kind == RQE_LABEL:
        e = rqe_number_end(f, q, n)
        if e < 0:
            return q
        st.business = e
        return e
    if kind == STREET:
        e = address_end(data, f, q, n)
        if e < 0:
            return q
        _contact(f, n, st, out, "address", p, e)
        return e
    r = skip_filler(f, q, n)
    if kind in (DOCTOR, ROLE, BUSINESS, INSTITUTION):
        # A physician's or professional's name is not patient data; neither is a business's or
        # an institution's name.
        e = name_end(data, f, r, n)
        end = e if e >= 0 else q
        if kind in (DOCTOR, BUSINESS):
            st.business = end
        if kind == INSTITUTION and e >= 0:  # "São Gabriel da Cachoeira (AM)" is a place
            u = uf_suffix_end(data, f, e, n)
            if u >= 0:
                out.append(("locality", p, u))
                return u
        return end
    if kind in (TITLE, WEAK_TITLE):
        e = name_end(data, f, r, n)
        if kind == TITLE:
            st.patient = q
        if e < 0:
            return q
        given = given_name(f, r, n)
        if (kind == WEAK_TITLE or headline(data, f, p, n)) and not given:
            return q
        st.patient = e
        out.append(("patient_name", r, e))
        return e
    if kind == PLACE_LABEL:
        e = name_end(data, f, r, n)
        if e < 0:
            return q
        u = uf_suffix_end(data, f, e, n)
        e = u if u >= 0 else e
        out.append(("locality", r, e))
        return e
    if kind == BIRTH_LABEL:
        rule, e = "birth_date", birth_end(f, r, n)
    elif kind == RG_LABEL:
        rule, e = "rg", rg_end(f, r, n)
    elif kind == CEP_LABEL:
        rule, e = "cep", cep_end(f, r, n, bare=True)
    elif kind in (RECORD_LABEL, PLAN_LABEL):
        rule = "medical_record" if kind == RECORD_LABEL else "health_plan_card"
        r, e = labelled_id(f, r, n)
    elif kind == AGE_LABEL:
        rule, e = age_value(f, r, n, labelled=True)
    else:  # CID_LABEL
        rule, e = "cid10", cid_end(data, f, r, n, allow_bare=True)
    if e < 0:
        return q
    _report(f, n, st, out, rule, r, e)
    return e


def _capitalised(data: bytes, f: bytes, n: int, p: int, out: list, st: _State) -> int:
    """A capitalised word that is no keyword: a place before a state code, a patient's name
    without a title (a given name of the gazetteer and at least a surname), or nothing."""
    first = _cap_word_end(data, f, p, n)
    if first < 0:
        return word_end(f, p, n)
    e = name_end(data, f, p, n)
    u = uf_suffix_end(data, f, e, n)
    if u >= 0:
        out.append(("locality", p, u))
        return u
    if not given_name(f, p, n):
        return first
    if e == first or not _untitled_name_ok(data, f, n, p, e):
        return e
    st.patient = e
    out.append(("patient_name", p, e))
    return e


def _untitled_name_ok(data: bytes, f: bytes, n: int, p: int, e: int) -> bool:
    """A name without a title is a patient's unless it heads a Title Case line, follows a word
    that makes it a place or an institution ("em", "para", "do"...), or is followed by a CRM,
    RQE or a profession within PROFESSIONAL_AFTER bytes (a physician, an author)."""
    if headline(data, f, p, n):
        return False
    s, w = prev_word(f, p)
    if span_in(f, s, w, _UNTITLED_STOP_BEFORE):
        return False
    for _ in range(ROLE_BEFORE_WORDS):  # "o ministro da Saúde Alexandre Padilha"
        if s >= w:
            break
        kind, q = _LEXICON.match(f, s, w)
        if kind in (ROLE, DOCTOR) and q == w:
            return False
        s, w = prev_word(f, s)
    k = e
    limit = min(n, e + PROFESSIONAL_AFTER)
    while k < limit:
        if word_at(f, k, n) and not word_before(f, k):
            kind, q = _LEXICON.match(f, k, n)
            if kind in (CRM_LABEL, RQE_LABEL, ROLE, DOCTOR):
                return False
            k = q if kind >= 0 else word_end(f, k, n)
        else:
            k += 1
    return True


def headline(data: bytes, f: bytes, p: int, n: int) -> bool:
    """p's line is a Title Case headline: three or more words of four letters or more, all
    capitalised. Lines longer than LINE_WINDOW bytes either side are never headlines."""
    s = p
    while s > 0 and f[s - 1] != 0x0A:
        if p - s >= LINE_WINDOW:
            return False
        s -= 1
    e = p
    while e < n and f[e] != 0x0A:
        if e - p >= LINE_WINDOW:
            return False
        e += 1
    words = capitalised = 0
    k = s
    while k < e:
        if letter_at(f, k, e) and not word_before(f, k):
            upper = _upper_at(data, k, e)
            chars = 0
            while letter_at(f, k, e):
                k += char_len(f[k])
                chars += 1
            if chars >= 4 and not word_at(f, k, e):
                words += 1
                capitalised += upper
        elif word_at(f, k, e):
            k = word_end(f, k, e)
        else:
            k += 1
    return words >= 3 and capitalised == words


def _upper_at(data: bytes, q: int, n: int) -> bool:
    b = data[q]
    if 0x41 <= b <= 0x5A:
        return True
    return b == 0xC3 and q + 1 < n and 0x80 <= data[q + 1] <= 0x9E and data[q + 1] != 0x97


def _ascii_letter(f: bytes, q: int, n: int) -> tuple[int, int]:
    """(ASCII lower-case letter without its accent, byte length) of the letter at q, or (0, 0)."""
    b = f[q]
    if 0x61 <= b <= 0x7A:
        return b, 1
    if b == 0xC3 and q + 1 < n:
        c = f[q + 1]
        if 0xA0 <= c <= 0xA5:
            return 0x61, 2  # à á â ã ä å
        if c == 0xA7:
            return 0x63, 2  # ç
        if 0xA8 <= c <= 0xAB:
            return 0x65, 2  # è é ê ë
        if 0xAC <= c <= 0xAF:
            return 0x69, 2  # ì í î ï
        if c == 0xB1:
            return 0x6E, 2  # ñ
        if 0xB2 <= c <= 0xB6:
            return 0x6F, 2  # ò ó ô õ ö
        if 0xB9 <= c <= 0xBC:
            return 0x75, 2  # ù ú û ü
    return 0, 0


def given_name(f: bytes, p: int, n: int) -> bool:
    """The word at p, without accents, is a given name of the gazetteer."""
    key = bytearray()
    q = p
    while word_at(f, q, n):
        c, k = _ascii_letter(f, q, n)
        if not c or len(key) >= MAX_GIVEN_NAME:
            return False
        key.append(c)
        q += k
    return bytes(key) in GIVEN_NAMES


def uf_suffix_end(data: bytes, f: bytes, e: int, n: int) -> int:
    """A state code after a place: " (MG)", "/MG", "-MG", " - MG"; its end, or -1."""
    if e < 0:
        return -1
    q = e
    if ch(f, q, n) == 0x20 and ch(f, q + 1, n) == 0x28:
        q += 2
        close = True
    elif ch(f, q, n) in (0x2F, 0x2D):
        q += 1
        close = False
    elif ch(f, q, n) == 0x20 and ch(f, q + 1, n) == 0x2D and ch(f, q + 2, n) == 0x20:
        q += 3
        close = False
    else:
        return -1
    if q + 2 > n or data[q : q + 2] not in _UFS:
        return -1
    q += 2
    if close:
        return q + 1 if ch(f, q, n) == 0x29 else -1
    return -1 if word_at(f, q, n) else q


def initials_end(data: bytes, f: bytes, p: int, n: int) -> int:
    """Two to four initials: "M.S.", "J. P. S." (upper-case letters, each with a dot)."""
    count = 0
    k = p
    while count <= 4 and 0x41 <= ch(data, k, n) <= 0x5A and ch(f, k + 1, n) == 0x2E:
        count += 1
        k += 2
        if ch(f, k, n) == 0x20 and 0x41 <= ch(data, k + 1, n) <= 0x5A and ch(f, k + 2, n) == 0x2E:
            k += 1
    if count < 2 or count > 4 or word_at(f, k, n):
        return -1
    compact = bytes(b for b in f[p:k] if b != 0x20)
    return -1 if compact in _NOT_INITIALS else k


def number_at(f: bytes, p: int, n: int) -> tuple[str, int]:
    """The identifier starting at digit p: (rule, end) or ("", -1). CPF before CNS before phone."""
    if not num_start_ok(f, p):
        return "", -1
    e = cpf_end(f, p, n)
    if e >= 0:
        return "cpf", e
    e = cns_end(f, p, n)
    if e >= 0:
        return "cns", e
    e = phone_end(f, p, n)
    if e >= 0:
        return "phone", e
    e = cep_end(f, p, n, bare=False)
    if e >= 0:
        return "cep", e
    return age_value(f, p, n, labelled=False)


def _ints(f: bytes, spans: tuple[tuple[int, int], ...]) -> list[int]:
    return [f[i] - 48 for start, end in spans for i in range(start, end)]


def cpf_valid(d: list[int]) -> bool:
    if all(x == d[0] for x in d):
        return False
    d1 = sum(d[i] * (10 - i) for i in range(9)) * 10 % 11 % 10
    d2 = sum(d[i] * (11 - i) for i in range(10)) * 10 % 11 % 10
    return d[9] == d1 and d[10] == d2


def cpf_end(f: bytes, p: int, n: int) -> int:
    """000.000.000-00, 000 000 000 00 (groups split by dots or spaces, then '-', ' ' or '.'), or
    11 bare digits, with valid check digits."""
    sep = ch(f, p + 3, n)
    if (
        digits(f, p, 3, n)
        and sep in (0x2E, 0x20)
        and digits(f, p + 4, 3, n)
        and ch(f, p + 7, n) == sep
        and digits(f, p + 8, 3, n)
        and ch(f, p + 11, n) in (0x2D, 0x20, 0x2E)
        and digits(f, p + 12, 2, n)
    ):
        e = p + 14
        d = _ints(f, ((p, p + 3), (p + 4, p + 7), (p + 8, p + 11), (p + 12, p + 14)))
    elif digits(f, p, 11, n):
        e = p + 11
        d = _ints(f, ((p, e),))
    else:
        return -1
    return e if num_end_ok(f, e, n) and cpf_valid(d) else -1


def cns_valid(d: list[int]) -> bool:
    """Definitive (1, 2): rebuilt from the PIS in the first 11 digits. Provisional (7, 8, 9):
    the weighted sum is 0 mod 11."""
    if d[0] in (1, 2):
        s = sum(d[i] * (15 - i) for i in range(11))
        dv = 11 - s % 11
        if dv == 11:
            dv = 0
        middle = (0, 0, 0)
        if dv == 10:
            dv = 11 - (s + 2) % 11
            middle = (0, 0, 1)
        return (d[11], d[12], d[13]) == middle and d[14] == dv
    if d[0] in (7, 8, 9):
        return sum(d[i] * (15 - i) for i in range(15)) % 11 == 0
    return False


def cns_end(f: bytes, p: int, n: int) -> int:
    """15 bare digits, or 000 0000 0000 0000, that pass the CNS validation."""
    if digits(f, p, 15, n):
        e = p + 15
        d = _ints(f, ((p, e),))
    elif (
        digits(f, p, 3, n)
        and ch(f, p + 3, n) == 0x20
        and digits(f, p + 4, 4, n)
        and ch(f, p + 8, n) == 0x20
        and digits(f, p + 9, 4, n)
        and ch(f, p + 13, n) == 0x20
        and digits(f, p + 14, 4, n)
    ):
        e = p + 18
        d = _ints(f, ((p, p + 3), (p + 4, p + 8), (p + 9, p + 13), (p + 14, p + 18)))
    else:
        return -1
    return e if num_end_ok(f, e, n) and cns_valid(d) else -1


def _local_end(f: bytes, q: int, n: int) -> tuple[int, bool]:
    """A local number at q: mobile 9XXXX-XXXX or landline [2-5]XXX-XXXX (separator optional)."""
    b = ch(f, q, n)
    if b == 0x39 and digits(f, q + 1, 4, n):
        k, mobile = q + 5, True
    elif b == 0x39 and ch(f, q + 1, n) == 0x20 and digits(f, q + 2, 4, n):
        k, mobile = q + 6, True  # "9 9134-2278": the mobile 9 written apart
    elif 0x32 <= b <= 0x35 and digits(f, q + 1, 3, n):
        k, mobile = q + 4, False
    else:
        return -1, False
    if ch(f, k, n) in (0x20, 0x2D) and digits(f, k + 1, 4, n):
        return k + 5, mobile
    if digits(f, k, 4, n):
        return k + 4, mobile
    return -1, False


def _ddd(f: bytes, q: int, n: int) -> bool:
    return 0x31 <= ch(f, q, n) <= 0x39 and 0x31 <= ch(f, q + 1, n) <= 0x39


def phone_end(f: bytes, p: int, n: int) -> int:
    """[+55] [(DD) | DD] local. A landline needs the DDD; the span needs a non-digit."""
    q = p
    prefix = False
    if ch(f, q, n) == 0x2B:
        if ch(f, q + 1, n) != 0x35 or ch(f, q + 2, n) != 0x35:
            return -1
        q += 3
        prefix = True
        if ch(f, q, n) in (0x20, 0x2D):
            q += 1
    if ch(f, q, n) == 0x28:
        if not (_ddd(f, q + 1, n) and ch(f, q + 3, n) == 0x29):
            return -1
        q += 4
        if ch(f, q, n) in (0x20, 0x2D):
            q += 1
        e, _ = _local_end(f, q, n)
    elif _ddd(f, q, n):
        q2 = q + 2
        if ch(f, q2, n) in (0x20, 0x2D):
            q2 += 1
        e, _ = _local_end(f, q2, n)
        if e < 0 and not prefix:
            e, mobile = _local_end(f, q, n)
            if not mobile:
                e = -1
    elif prefix:
        return -1
    else:
        e, mobile = _local_end(f, q, n)
        if not mobile:
            e = -1
    if e < 0 or all(is_digit(f[i]) for i in range(p, e)) or not num_end_ok(f, e, n):
        return -1
    return e


def cep_end(f: bytes, p: int, n: int, *, bare: bool) -> int:
    """00000-000; with bare=True (right after "CEP") also 8 bare digits."""
    if digits(f, p, 5, n) and ch(f, p + 5, n) == 0x2D and digits(f, p + 6, 3, n):
        e = p + 9
    elif bare and digits(f, p, 8, n):
        e = p + 8
    else:
        return -1
    return e if num_end_ok(f, e, n) else -1


def rg_end(f: bytes, r: int, n: int) -> int:
    """After "RG": optional UF ("SP-"), then 5-14 digits with dots and an optional -D or -X."""
    q = r
    if (
        is_alpha(ch(f, q, n))
        and is_alpha(ch(f, q + 1, n))
        and ch(f, q + 2, n) in (0x20, 0x2D)
        and is_digit(ch(f, q + 3, n))
    ):
        q += 3
    if not is_digit(ch(f, q, n)):
        return -1
    count = 0
    e = q
    while e < n:
        b = f[e]
        if is_digit(b):
            count += 1
            e += 1
        elif b == 0x2E and is_digit(ch(f, e + 1, n)):
            e += 1
        elif b == 0x2D and (is_digit(ch(f, e + 1, n)) or ch(f, e + 1, n) == 0x78):
            if is_digit(f[e + 1]):
                count += 1
            e += 2
            break
        else:
            break
    if count < 5 or count > 14 or word_at(f, e, n):
        return -1
    return e


def _small_number(f: bytes, q: int, n: int) -> tuple[int, int]:
    """One or two digits at q: (value, end), or (-1, q)."""
    if not is_digit(ch(f, q, n)):
        return -1, q
    if is_digit(ch(f, q + 1, n)):
        return (f[q] - 48) * 10 + f[q + 1] - 48, q + 2
    return f[q] - 48, q + 1


def _word_date_end(f: bytes, q: int, n: int) -> int:
    """After the day: [º] de <month> de yyyy ("3 de maio de 1980", "1º de março de 1950")."""
    if ch(f, q, n) == 0xC2 and ch(f, q + 1, n) in (0xBA, 0xB0):
        q += 2
    for i in range(2):
        if ch(f, q, n) != 0x20 or not f.startswith(b"de ", q + 1):
            return -1
        q += 4
        if i == 0:
            w = word_end(f, q, n)
            if not span_in(f, q, w, _MONTHS):
                return -1
            q = w
    if not (digits(f, q, 4, n) and f[q] in (0x31, 0x32)):
        return -1
    return q + 4 if num_end_ok(f, q + 4, n) else -1


def birth_end(f: bytes, r: int, n: int) -> int:
    """After a birth label: d/m/yyyy (or m/d/yyyy), separator / - or . used twice, or the date in
    words; "dia" may come first ("nasceu no dia 3 de maio de 1980")."""
    if f.startswith(b"dia ", r):
        r += 4
    a, q = _small_number(f, r, n)
    if a < 0:
        return -1
    if 1 <= a <= 31:
        w = _word_date_end(f, q, n)
        if w >= 0:
            return w
    sep = ch(f, q, n)
    if sep not in (0x2F, 0x2D, 0x2E):
        return -1
    b, q = _small_number(f, q + 1, n)
    if b < 0 or ch(f, q, n) != sep:
        return -1
    q += 1
    if not (digits(f, q, 4, n) and f[q] in (0x31, 0x32)):
        return -1
    e = q + 4
    if not num_end_ok(f, e, n):
        return -1
    if (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31):
        return e
    return -1


def _cap_word_end(data: bytes, f: bytes, q: int, n: int, street: bool = False) -> int:
    """A capitalised word of at least two letters at q (checked on the original bytes), and not
    a title such as "Sra" or "Dr" (which starts another person)."""
    b = ch(data, q, n)
    if 0x41 <= b <= 0x5A:
        k = q + 1
    elif b == 0xC3 and q + 1 < n and 0x80 <= data[q + 1] <= 0x9E and data[q + 1] != 0x97:
        k = q + 2
    else:
        return -1
    chars = 1
    while letter_at(f, k, n):
        k += char_len(f[k])
        chars += 1
    if chars < 2 or word_at(f, k, n):
        return -1
    if street:  # street names keep titles and roles: "Rua Doutor Arnaldo", "Travessa São Jorge"
        return k
    kind, _ = _LEXICON.match(f, q, n)
    if kind >= 0 and kind != INSTITUTION:  # a keyword (a title, a health word...) ends a name
        return -1
    return k


def _connector_end(f: bytes, q: int, n: int) -> int:
    for word in _CONNECTORS:
        if f.startswith(word, q, n) and not word_at(f, q + len(word), n):
            return q + len(word)
    return -1


def name_end(data: bytes, f: bytes, r: int, n: int, street: bool = False) -> int:
    """Capitalised words separated by single spaces; da/de/do/dos/das/e only between two."""
    e = _cap_word_end(data, f, r, n, street)
    if e < 0:
        return -1
    while ch(f, e, n) == 0x20:
        q = e + 1
        c = _connector_end(f, q, n)
        if c >= 0 and ch(f, c, n) == 0x20:
            w = _cap_word_end(data, f, c + 1, n, street)
            if w >= 0:
                e = w
                continue
        w = _cap_word_end(data, f, q, n, street)
        if w < 0:
            break
        e = w
    return e


def address_end(data: bytes, f: bytes, q: int, n: int) -> int:
    """After a street type: [da/das/do/dos/de] Capitalised Name[,] [nº] number or s/n, then up to
    two complements ("apto 45", "bloco B", "sala 301")."""
    k = q
    s = space_len(f, k, n)
    if not s:
        return -1
    k += s
    c = _connector_end(f, k, n)
    if c >= 0 and ch(f, c, n) == 0x20:
        k = c + 1
    e = name_end(data, f, k, n, street=True)
    if e < 0:
        return -1
    k = e + 1 if ch(f, e, n) == 0x2C else e
    k = skip_filler(f, k, n)
    if f.startswith("número ".encode(), k) or f.startswith(b"numero ", k):
        k = skip_filler(f, k + (8 if f[k + 1] == 0xC3 else 7), n)
    if f.startswith(b"s/n", k) and not word_at(f, k + 3, n):
        k += 3
    else:
        m = k
        while m < n and m - k < 5 and is_digit(f[m]):
            m += 1
        if m == k or word_at(f, m, n):
            return -1
        k = m
    for _ in range(2):
        m = k
        if ch(f, m, n) == 0x2C:
            m += 1
        elif ch(f, m, n) == 0x20 and ch(f, m + 1, n) == 0x2D:
            m += 2
        if ch(f, m, n) != 0x20:
            break
        m += 1
        w = word_end(f, m, n)
        if not span_in(f, m, w, _COMPLEMENTS):
            break
        v = skip_filler(f, w, n)
        t = v
        while t < n and t - v < 6 and (is_digit(f[t]) or is_alpha(f[t])):
            t += 1
        if t == v or word_at(f, t, n) or not (is_digit(f[v]) or t - v == 1):
            break
        k = t
    return k


def labelled_id(f: bytes, r: int, n: int) -> tuple[int, int]:
    """After a record or plan-card label: up to three words ("do plano", "da Unimed"), then an
    optional letter prefix ("HC-") and 5-25 digits in groups split by single . - / or spaces.
    Returns the (start, end) of the number, or (r, -1)."""
    q = r
    for _ in range(3):
        if not letter_at(f, q, n):
            break
        w = word_end(f, q, n)
        if ch(f, w, n) == 0x2D and is_digit(ch(f, w + 1, n)) and w - q <= 4:
            break  # a letter prefix, not a word
        q = skip_filler(f, w, n)
    start = q
    while q < n and q - start < 4 and is_alpha(f[q]):
        q += 1
    if q > start:
        if ch(f, q, n) not in (0x2D, 0x2F) or not is_digit(ch(f, q + 1, n)):
            return r, -1
        q += 1
    if not is_digit(ch(f, q, n)):
        return r, -1
    count = 0
    e = q
    while e < n:
        if is_digit(f[e]):
            count += 1
            e += 1
        elif f[e] in (0x2E, 0x2D, 0x2F, 0x20) and is_digit(ch(f, e + 1, n)):
            e += 1
        else:
            break
    if count < 5 or count > 25 or word_at(f, e, n):
        return r, -1
    return start, e


def age_value(f: bytes, p: int, n: int, *, labelled: bool) -> tuple[str, int]:
    """An age: "NN anos" (not "há 90 anos", "90 anos de história", "acima de 90 anos"), or after
    the label "idade" a bare number. Over 89: age_over_89 (a HIPAA identifier); else age."""
    if not is_digit(ch(f, p, n)):
        return "", -1
    e = p
    v = 0
    while e < n and e - p < 3 and is_digit(f[e]):
        v = v * 10 + f[e] - 48
        e += 1
    if is_digit(ch(f, e, n)) or v > 125:
        return "", -1
    end = -1
    if ch(f, e, n) == 0x20:
        w = word_end(f, e + 1, n)
        if span_in(f, e + 1, w, (b"anos", b"ano", b"years")):
            end = w
    if end < 0:
        if not labelled or word_at(f, e, n):
            return "", -1
        end = e
    else:
        nxt = end + 1 if ch(f, end, n) == 0x20 else end
        w = word_end(f, nxt, n)
        if span_in(f, nxt, w, _AGE_STOP_AFTER):
            return "", -1
        explicit = False
        if span_in(f, nxt, w, (b"de",)):
            w2 = word_end(f, w + 1, n)
            if ch(f, w, n) != 0x20 or not span_in(f, w + 1, w2, (b"idade",)):
                return "", -1
            end = w2
            explicit = True  # "NN anos de idade" is an age whatever comes before
        if not labelled and not explicit:
            s, t = prev_word(f, p)
            if span_in(f, s, t, _AGE_STOP_BEFORE):
                return "", -1
            if span_in(f, s, t, (b"de",)):
                s2, t2 = prev_word(f, s)
                if span_in(f, s2, t2, _AGE_STOP_BEFORE_DE):
                    return "", -1
    return ("age_over_89" if v >= 90 else "age"), end


def cid_end(data: bytes, f: bytes, p: int, n: int, *, allow_bare: bool) -> int:
    """A CID-10 code [A-TV-Z]00(.0) or U04/U07 in upper case; bare form only after a CID label."""
    b = ch(data, p, n)
    if not (0x41 <= b <= 0x5A and is_digit(ch(f, p + 1, n)) and is_digit(ch(f, p + 2, n))):
        return -1
    if b == 0x55 and not (f[p + 1] == 0x30 and f[p + 2] in (0x34, 0x37)):
        return -1
    q = p + 3
    if ch(f, q, n) == 0x2E and is_digit(ch(f, q + 1, n)) and num_end_ok(f, q + 2, n):
        return q + 2
    if allow_bare and num_end_ok(f, q, n):
        return q
    return -1


def _at_token_end(f: bytes, a: int, n: int) -> tuple[int, int]:
    """An "at" at a: '@', "[at]", "(arroba)"... (optionally spaced), or " arroba " between
    words. Returns (where the local part ends, where the domain starts), or (-1, -1)."""
    b = f[a]
    if b == 0x40:
        return a, a + 1
    if b in (0x5B, 0x28, 0x7B):
        for token in _AT_BRACKETS:
            if f.startswith(token, a):
                s = a - 1 if a > 0 and f[a - 1] == 0x20 else a
                d = a + len(token)
                return s, d + 1 if ch(f, d, n) == 0x20 else d
        return -1, -1
    if b == 0x61 and a > 0 and f[a - 1] == 0x20 and f.startswith(b"arroba ", a):
        return a - 1, a + 7
    return -1, -1


def _dot_token_end(f: bytes, k: int, n: int) -> int:
    """A dot between domain labels at k: '.', " ponto ", " dot ", "[.]", "(ponto)"...; the start
    of the next label, or -1."""
    b = ch(f, k, n)
    if b == 0x2E:
        return k + 1
    q = k + 1 if b == 0x20 else k
    for token in _DOT_BRACKETS:
        if f.startswith(token, q):
            d = q + len(token)
            return d + 1 if ch(f, d, n) == 0x20 else d
    if b == 0x20:
        for word in _DOT_WORDS:
            if f.startswith(word, k + 1) and ch(f, k + 1 + len(word), n) == 0x20:
                return k + len(word) + 2
    return -1


def obfuscated_domain_end(f: bytes, d: int, n: int) -> int:
    """A domain whose dots may be written out ("gmail ponto com"): two or more labels of
    [a-z0-9-] (not starting or ending with '-'), the last of two or more letters, not glued to a
    following word. Its end, or -1."""
    k = d
    labels = 0
    last = end = d
    while True:
        start = k
        while k < n and k - d < MAX_EMAIL_DOMAIN and f[k] in _LABEL_CHARS:
            k += 1
        if k == start or f[start] == 0x2D or f[k - 1] == 0x2D:
            break
        labels += 1
        last, end = start, k
        nxt = _dot_token_end(f, k, n)
        if nxt < 0 or nxt >= n or f[nxt] not in _LABEL_CHARS:
            break
        k = nxt
    if labels < 2 or end - last < 2 or word_at(f, end, n):
        return -1
    if not all(97 <= f[i] <= 122 for i in range(last, end)):
        return -1
    return end


def find_emails(f: bytes, n: int) -> list[tuple[int, int]]:
    """Spans of ASCII e-mail addresses: local@domain.tld, found from each '@'; and obfuscated
    ones ("maria arroba gmail ponto com", "maria[at]gmail.com", "maria@gmail ponto com")."""
    out: list[tuple[int, int]] = []
    pos = last_end = 0
    while pos < n:
        anchor = _AT_ANCHOR.search(f, pos, n)
        if anchor is None:
            return out
        a = anchor.start()
        local_end, d = _at_token_end(f, a, n)
        if local_end < 0:
            pos = a + 1
            continue
        s = local_end
        while s > last_end and local_end - s < MAX_EMAIL_LOCAL and f[s - 1] in _EMAIL_LOCAL:
            s -= 1
        while s < local_end and f[s] in b".%+-":
            s += 1
        e = -1
        if s < local_end and not word_before(f, s):
            if f[a] == 0x40:
                e = _plain_domain_end(f, d, n)
            if e < 0:
                e = obfuscated_domain_end(f, d, n)
        if e >= 0:
            out.append((s, e))
            pos = last_end = e
        else:
            pos = a + 1
    return out


def _plain_domain_end(f: bytes, d: int, n: int) -> int:
    """The domain after '@' written plainly ([a-z0-9.-], trimmed); its end, or -1."""
    e = d
    while e < n and e - d < MAX_EMAIL_DOMAIN and f[e] in _EMAIL_DOMAIN:
        e += 1
    while e > d and f[e - 1] in b".-":
        e -= 1
    if _domain_ok(f, d, e) and not word_at(f, e, n):
        return e
    return -1


def _domain_ok(f: bytes, d: int, e: int) -> bool:
    """At least two labels, no empty label, a TLD of two or more letters."""
    if d >= e or f[d] in b".-":
        return False
    dot = f.rfind(b".", d, e)
    if dot < 0 or e - dot - 1 < 2 or f.find(b"..", d, e) >= 0:
        return False
    return all(97 <= f[i] <= 122 for i in range(dot + 1, e))

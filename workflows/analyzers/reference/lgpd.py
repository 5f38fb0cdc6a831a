"""Reference `lgpd` analyzer: personal identifiers and health context (mirrors plugins/lgpd.c).

One left-to-right pass over the folded bytes; each match is consumed, so findings never overlap.
The algorithm is described rule by rule in docs/analyzers.md.
"""

from __future__ import annotations

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
    rqe_number_end,
    skip_filler,
    word_at,
    word_before,
    word_end,
)

_LEXICON = Lexicon("lgpd")
(HEALTH, TITLE, BIRTH_LABEL, RG_LABEL, CEP_LABEL, CID_LABEL, CRM_LABEL, RQE_LABEL, DOCTOR) = range(
    len(KINDS["lgpd"])
)
MAX_EMAIL_LOCAL = 64
MAX_EMAIL_DOMAIN = 255
_EMAIL_LOCAL = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_DOMAIN = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-")
_CONNECTORS = (b"dos", b"das", b"da", b"de", b"do", b"e")


def analyze(data: bytes) -> list[tuple[str, int, int]]:
    """Findings as (rule, start byte, end byte) in text order."""
    f = fold(data)
    n = len(f)
    emails = find_emails(f, n)
    out: list[tuple[str, int, int]] = []
    p = ei = 0
    while p < n:
        while ei < len(emails) and emails[ei][0] < p:
            ei += 1
        if ei < len(emails) and emails[ei][0] == p:
            out.append(("email", p, emails[ei][1]))
            p = emails[ei][1]
            ei += 1
            continue
        b = f[p]
        if word_at(f, p, n) and not word_before(f, p):
            if is_digit(b):
                rule, e = number_at(f, p, n)
                if e >= 0:
                    out.append((rule, p, e))
                    p = e
                else:
                    p = word_end(f, p, n)
                continue
            kind, q = _LEXICON.match(f, p, n)
            if kind >= 0:
                p = _after_keyword(data, f, n, kind, p, q, out)
                continue
            e = cid_end(data, f, p, n, allow_bare=False)
            if e >= 0:
                out.append(("cid10", p, e))
                p = e
                continue
            p = word_end(f, p, n)
            continue
        if b in (0x2B, 0x28) and num_start_ok(f, p):  # '+' or '(' opens a phone number
            e = phone_end(f, p, n)
            if e >= 0:
                out.append(("phone", p, e))
                p = e
                continue
        p += 1
    return out


def _after_keyword(data: bytes, f: bytes, n: int, kind: int, p: int, q: int, out: list) -> int:
    """Act on a keyword found at [p, q); return where scanning resumes."""
    if kind == HEALTH:
        out.append(("health_term", p, q))
        return q
    if kind == CRM_LABEL:
        e = crm_number_end(f, q, n)
        return e if e >= 0 else q
    if kind == RQE_LABEL:
        e = rqe_number_end(f, q, n)
        return e if e >= 0 else q
    r = skip_filler(f, q, n)
    if kind == DOCTOR:  # a physician's name is required identification, not patient data
        e = name_end(data, f, r, n)
        return e if e >= 0 else q
    if kind == TITLE:
        rule, e = "patient_name", name_end(data, f, r, n)
    elif kind == BIRTH_LABEL:
        rule, e = "birth_date", birth_end(f, r, n)
    elif kind == RG_LABEL:
        rule, e = "rg", rg_end(f, r, n)
    elif kind == CEP_LABEL:
        rule, e = "cep", cep_end(f, r, n, bare=True)
    else:  # CID_LABEL
        rule, e = "cid10", cid_end(data, f, r, n, allow_bare=True)
    if e < 0:
        return q
    out.append((rule, r, e))
    return e


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
    return "", -1


def _ints(f: bytes, spans: tuple[tuple[int, int], ...]) -> list[int]:
    return [f[i] - 48 for start, end in spans for i in range(start, end)]


def cpf_valid(d: list[int]) -> bool:
    if all(x == d[0] for x in d):
        return False
    d1 = sum(d[i] * (10 - i) for i in range(9)) * 10 % 11 % 10
    d2 = sum(d[i] * (11 - i) for i in range(10)) * 10 % 11 % 10
    return d[9] == d1 and d[10] == d2


def cpf_end(f: bytes, p: int, n: int) -> int:
    """000.000.000-00 or 11 bare digits with valid check digits."""
    if (
        digits(f, p, 3, n)
        and ch(f, p + 3, n) == 0x2E
        and digits(f, p + 4, 3, n)
        and ch(f, p + 7, n) == 0x2E
        and digits(f, p + 8, 3, n)
        and ch(f, p + 11, n) == 0x2D
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


def birth_end(f: bytes, r: int, n: int) -> int:
    """After a birth label: d/m/yyyy (or m/d/yyyy), separator / - or . used twice."""
    a, q = _small_number(f, r, n)
    if a < 0:
        return -1
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


def _cap_word_end(data: bytes, f: bytes, q: int, n: int) -> int:
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
    kind, _ = _LEXICON.match(f, q, n)
    if kind in (TITLE, DOCTOR):
        return -1
    return k


def _connector_end(f: bytes, q: int, n: int) -> int:
    for word in _CONNECTORS:
        if f.startswith(word, q, n) and not word_at(f, q + len(word), n):
            return q + len(word)
    return -1


def name_end(data: bytes, f: bytes, r: int, n: int) -> int:
    """Capitalised words separated by single spaces; da/de/do/dos/das/e only between two."""
    e = _cap_word_end(data, f, r, n)
    if e < 0:
        return -1
    while ch(f, e, n) == 0x20:
        q = e + 1
        c = _connector_end(f, q, n)
        if c >= 0 and ch(f, c, n) == 0x20:
            w = _cap_word_end(data, f, c + 1, n)
            if w >= 0:
                e = w
                continue
        w = _cap_word_end(data, f, q, n)
        if w < 0:
            break
        e = w
    return e


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


def find_emails(f: bytes, n: int) -> list[tuple[int, int]]:
    """Spans of ASCII e-mail addresses: local@domain.tld, found from each '@'."""
    out: list[tuple[int, int]] = []
    pos = last_end = 0
    while True:
        a = f.find(b"@", pos, n)
        if a < 0:
            return out
        s = a
        while s > last_end and a - s < MAX_EMAIL_LOCAL and f[s - 1] in _EMAIL_LOCAL:
            s -= 1
        while s < a and f[s] in b".%+-":
            s += 1
        e = a + 1
        while e < n and e - a <= MAX_EMAIL_DOMAIN and f[e] in _EMAIL_DOMAIN:
            e += 1
        while e > a + 1 and f[e - 1] in b".-":
            e -= 1
        if s < a and not word_before(f, s) and _domain_ok(f, a + 1, e) and not word_at(f, e, n):
            out.append((s, e))
            pos = last_end = e
        else:
            pos = a + 1


def _domain_ok(f: bytes, d: int, e: int) -> bool:
    """At least two labels, no empty label, a TLD of two or more letters."""
    if d >= e or f[d] in b".-":
        return False
    dot = f.rfind(b".", d, e)
    if dot < 0 or e - dot - 1 < 2 or f.find(b"..", d, e) >= 0:
        return False
    return all(97 <= f[i] <= 122 for i in range(dot + 1, e))

"""Reference `claims` analyzer: sentences asserting a medical effect (mirrors plugins/claims.c).

A sentence is a claim when it has a claim word (cure, treat, eliminate, prevent, reduce, guarantee,
scientifically proven) or a percentage AND names a health context (a `health` word: condition,
symptom, body part or function, treatment or medicine, health outcome). A percentage in a sentence
with a price word (desconto, off, juros...) is a price, not a claim; patients/cases ("90% dos
pacientes") are health context only for a percentage. Each claim finding spans its whole sentence;
`claim_unreferenced` marks a claim sentence with no reference (DOI, PMID, doi.org, http(s) link) in
the same sentence or the next one.
"""

from __future__ import annotations

from .lexicon import KINDS
from .text import (
    Lexicon,
    ch,
    fold,
    is_digit,
    num_start_ok,
    sentences,
    word_at,
    word_before,
    word_end,
)

_LEXICON = Lexicon("claims")
_KINDS = KINDS["claims"]
REFERENCE = _KINDS.index("reference")
IGNORE = _KINDS.index("ignore")
HEALTH = _KINDS.index("health")
COHORT = _KINDS.index("cohort")
PRICE = _KINDS.index("price")
PERCENTAGE = len(_KINDS)  # a bit of its own, after the word kinds
# Order in which a sentence's findings are reported.
CLAIM_RULES = (
    ("claim_cure", _KINDS.index("cure")),
    ("claim_treat", _KINDS.index("treat")),
    ("claim_eliminate", _KINDS.index("eliminate")),
    ("claim_prevent", _KINDS.index("prevent")),
    ("claim_reduce", _KINDS.index("reduce")),
    ("claim_guarantee", _KINDS.index("guarantee")),
    ("claim_percentage", PERCENTAGE),
    ("claim_scientifically_proven", _KINDS.index("proven")),
)
_CLAIM_MASK = sum(1 << bit for _, bit in CLAIM_RULES)


def analyze(data: bytes) -> list[tuple[str, int, int]]:
    f = fold(data)
    n = len(f)
    out: list[tuple[str, int, int]] = []
    pending: tuple[int, int, int] | None = None  # previous sentence: (start, end, flags)
    for s, e in sentences(f, n):
        flags = sentence_flags(f, s, e)
        if pending is not None:
            _emit(out, pending, next_has_reference=bool(flags & (1 << REFERENCE)))
        pending = (s, e, flags)
    if pending is not None:
        _emit(out, pending, next_has_reference=False)
    return out


def claim_flags(flags: int) -> int:
    """The claim bits a sentence reports: none without a health context; a percentage next to a
    price word is dropped first, and patients/cases count as context only with a percentage."""
    if flags & (1 << PRICE):
        flags &= ~(1 << PERCENTAGE)
    context = flags & (1 << HEALTH) or (flags & (1 << COHORT) and flags & (1 << PERCENTAGE))
    return flags & _CLAIM_MASK if context else 0


def _emit(out: list, sentence: tuple[int, int, int], *, next_has_reference: bool) -> None:
    s, e, flags = sentence
    claims = claim_flags(flags)
    if not claims:
        return
    for rule, bit in CLAIM_RULES:
        if claims & (1 << bit):
            out.append((rule, s, e))
    if not (flags & (1 << REFERENCE) or next_has_reference):
        out.append(("claim_unreferenced", s, e))


def sentence_flags(f: bytes, s: int, n: int) -> int:
    """Bit set of the keyword kinds (and PERCENTAGE) found at word starts in [s, n)."""
    flags = 0
    p = s
    while p < n:
        if not (word_at(f, p, n) and not word_before(f, p)):
            p += 1
            continue
        if is_digit(f[p]):
            if doi_end(f, p, n) >= 0:
                flags |= 1 << REFERENCE
            elif percent_end(f, p, n) >= 0:
                flags |= 1 << PERCENTAGE
        else:
            kind, q = _LEXICON.match(f, p, n)
            if kind >= 0:
                if kind != IGNORE:
                    flags |= 1 << kind
                p = q
                continue
        p = word_end(f, p, n)
    return flags


def doi_end(f: bytes, p: int, n: int) -> int:
    """A DOI: "10." then at least four digits and a slash."""
    if not (f.startswith(b"10.", p, n) and num_start_ok(f, p)):
        return -1
    q = p + 3
    while is_digit(ch(f, q, n)):
        q += 1
    if q - (p + 3) < 4 or ch(f, q, n) != 0x2F:
        return -1
    return q + 1


def percent_end(f: bytes, p: int, n: int) -> int:
    """A percentage: digits, an optional ,5 or .5 part, an optional space, then '%'."""
    q = p
    while is_digit(ch(f, q, n)):
        q += 1
    if ch(f, q, n) in (0x2C, 0x2E) and is_digit(ch(f, q + 1, n)):
        q += 1
        while is_digit(ch(f, q, n)):
            q += 1
    if ch(f, q, n) == 0x20:
        q += 1
    return q + 1 if ch(f, q, n) == 0x25 else -1

"""Reference `cfm` analyzer: medical publicity (CFM Res. 2.336/2023, ANVISA RDC 96/2008).

Mirrors plugins/cfm.c. A first pass collects document facts (a CRM number, an RQE number, a mention
of complications); a second pass reports, sentence by sentence, phrases and meaning classes:
a phrase of its own (a guarantee, a title, sensationalism...), or two parts in one sentence (a
guarantee verb and a result, a price and a procedure, a raffle and a consultation or procedure, a
prescription drug and an advertising cue). `missing_crm` is a document finding at 0..0. The rules
are described in docs/analyzers.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from .lexicon import KINDS
from .text import (
    Lexicon,
    ch,
    crm_number_end,
    digits,
    fold,
    is_digit,
    num_start_ok,
    prev_word,
    rqe_number_end,
    sentences,
    space_len,
    word_at,
    word_before,
    word_end,
)

_LEXICON = Lexicon("cfm")
(
    CRM_LABEL,
    RQE_LABEL,
    SPECIALTY,
    GUARANTEED,
    SUPERLATIVE,
    MIRACLE,
    FREE_CONSULT,
    RAFFLE,
    CONSULT,
    BEFORE_AFTER,
    COMPLICATION,
    SAFETY,
    GUARANTEE_VERB,
    RESULT_OBJECT,
    CURE_SUFFIX,
    SENSATIONAL,
    AWARD,
    SELF_OBJECT,
    CONNECTOR,
    PROCEDURE,
    PRICE,
    SELF_MEDICATION,
    RX_DRUG,
    AD_CUE,
    REFERRAL,
    CURE_CLAIM,
    NEGATION,
) = range(len(KINDS["cfm"]))
CURE_RATE = len(KINDS["cfm"])  # a percentage followed by a cure suffix ("98% de cura")
# Phrases reported wherever they appear.
_PHRASE_RULES = {
    GUARANTEED: "guaranteed_result",
    SUPERLATIVE: "superlative_title",
    AWARD: "superlative_title",
    MIRACLE: "miraculous_claim",
    FREE_CONSULT: "free_consultation_bait",
    SAFETY: "absolute_safety_medicine",
    SENSATIONAL: "sensationalism",
    SELF_MEDICATION: "self_medication",
    CURE_CLAIM: "cure_rate",
    CURE_RATE: "cure_rate",
}
# Phrases that a negation just before turns into a disclaimer.
_NEGATABLE = (GUARANTEED, SAFETY, SELF_MEDICATION, GUARANTEE_VERB, CURE_CLAIM)
# What makes a superlative self-promotion when it follows it ("o melhor dermatologista").
_SELF_OBJECTS = (SELF_OBJECT, SPECIALTY, PROCEDURE, RESULT_OBJECT)
NEGATION_WORDS = 3
MAX_NEGATION_BYTES = 6


def analyze(data: bytes) -> list[tuple[str, int, int]]:
    f = fold(data)
    n = len(f)
    has_crm = has_rqe = has_complication = False
    for s, e in sentences(f, n):
        for kind, _, _ in scan(f, s, e, facts_only=True):
            has_crm |= kind == CRM_LABEL
            has_rqe |= kind == RQE_LABEL
            has_complication |= kind == COMPLICATION
    out: list[tuple[str, int, int]] = []
    for s, e in sentences(f, n):
        raffle = price = drug = verb = None
        consult = procedure = cue = result = False
        for kind, p, q in scan(f, s, e):
            if kind in _PHRASE_RULES:
                out.append((_PHRASE_RULES[kind], p, q))
            elif kind == SPECIALTY and not has_rqe:
                out.append(("specialty_without_rqe", p, q))
            elif kind == BEFORE_AFTER and not has_complication:
                out.append(("isolated_before_after", p, q))
            elif kind == RAFFLE and raffle is None:
                raffle = (p, q)
            elif kind == PRICE and price is None:
                price = (p, q)
            elif kind == RX_DRUG and drug is None:
                drug = (p, q)
            elif kind == GUARANTEE_VERB and verb is None:
                verb = (p, q)
            consult |= kind in (CONSULT, FREE_CONSULT, PROCEDURE)
            procedure |= kind == PROCEDURE
            cue |= kind in (AD_CUE, PRICE)
            result |= kind == RESULT_OBJECT
        if raffle is not None and consult:
            out.append(("free_consultation_bait", *raffle))
        if price is not None and procedure:
            out.append(("procedure_price", *price))
        if drug is not None and cue:
            out.append(("prescription_drug_ad", *drug))
        if verb is not None and result:
            out.append(("guaranteed_result", *verb))
    if not has_crm:
        out.append(("missing_crm", 0, 0))
    return out


def _next_word(f: bytes, q: int, n: int) -> int:
    """The start of the word after q across whitespace, or -1."""
    k = q
    s = space_len(f, k, n)
    if not s:
        return -1
    while s:
        k += s
        s = space_len(f, k, n)
    return k if word_at(f, k, n) else -1


def _kind_at(f: bytes, k: int, n: int) -> tuple[int, int]:
    if k < 0:
        return -1, -1
    return _LEXICON.match(f, k, n)


def _object_follows(f: bytes, q: int, n: int) -> bool:
    """A self-promotion object follows q, perhaps after one connector ("o mais eficaz dos
    tratamentos")."""
    kind, e = _kind_at(f, _next_word(f, q, n), n)
    if kind == CONNECTOR:
        kind, e = _kind_at(f, _next_word(f, e, n), n)
    return kind in _SELF_OBJECTS


def negated(f: bytes, s: int, p: int) -> bool:
    """One of the NEGATION_WORDS words before p (within the sentence from s) is a negation."""
    k = p
    for _ in range(NEGATION_WORDS):
        a, b = prev_word(f, k)
        if a >= b or a < s:
            return False
        if b - a > MAX_NEGATION_BYTES:  # longer than any negation word
            k = a
            continue
        kind, e = _LEXICON.match(f, a, b)
        if kind == NEGATION and e == b:
            return True
        k = a
    return False


def _percent_end(f: bytes, p: int, n: int) -> int:
    """After digits at p: [,d|.d] [space] '%'; the end, or -1."""
    k = p
    while k < n and k - p < 3 and is_digit(f[k]):
        k += 1
    if ch(f, k, n) in (0x2C, 0x2E) and digits(f, k + 1, 1, n):
        k += 2
    if ch(f, k, n) == 0x20:
        k += 1
    return k + 1 if ch(f, k, n) == 0x25 else -1


def scan(f: bytes, s: int, n: int, facts_only: bool = False) -> Iterator[tuple[int, int, int]]:
    """(kind, start, end) of each keyword at a word start in [s, n). A CRM or RQE label is
    reported only when a registration number follows it, and then spans label and number; a
    superlative only before a self-promotion object; a specialty right after a referral ("procure
    um dermatologista") is skipped; a negated guarantee, safety or self-medication phrase is
    skipped (not looked for with facts_only: the first pass needs only CRM, RQE and
    complications); a percentage before a cure suffix is a CURE_RATE."""
    p = s
    while p < n:
        if not (word_at(f, p, n) and not word_before(f, p)):
            p += 1
            continue
        kind, q = _LEXICON.match(f, p, n)
        if kind < 0:
            if is_digit(f[p]) and num_start_ok(f, p):
                e = _percent_end(f, p, n)
                if e >= 0:
                    k = e + 1 if ch(f, e, n) == 0x20 else e
                    kind2, e2 = _kind_at(f, k if word_at(f, k, n) else -1, n)
                    if kind2 == CURE_SUFFIX:
                        yield CURE_RATE, p, e2
                        p = e2
                        continue
            p = word_end(f, p, n)
            continue
        if kind in (CRM_LABEL, RQE_LABEL):
            e = crm_number_end(f, q, n) if kind == CRM_LABEL else rqe_number_end(f, q, n)
            if e < 0:
                p = q
                continue
            q = e
        elif kind == SUPERLATIVE and not _object_follows(f, q, n):
            p = q
            continue
        elif kind == REFERRAL:
            kind2, e2 = _kind_at(f, _next_word(f, q, n), n)
            p = e2 if kind2 == SPECIALTY else q
            continue
        elif not facts_only and kind in _NEGATABLE and negated(f, s, p):
            p = q
            continue
        yield kind, p, q
        p = q

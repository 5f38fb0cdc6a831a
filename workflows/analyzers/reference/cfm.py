"""Reference `cfm` analyzer: medical publicity (CFM Res. 2.336/2023, ANVISA RDC 96/2008).

Mirrors plugins/cfm.c. A first pass collects document facts (a CRM number, an RQE number, a mention
of complications); a second pass reports phrases. `missing_crm` is a document finding at 0..0.
"""

from __future__ import annotations

from collections.abc import Iterator

from .lexicon import KINDS
from .text import (
    Lexicon,
    crm_number_end,
    fold,
    rqe_number_end,
    sentences,
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
) = range(len(KINDS["cfm"]))
# Phrases reported wherever they appear.
_PHRASE_RULES = {
    GUARANTEED: "guaranteed_result",
    SUPERLATIVE: "superlative_title",
    MIRACLE: "miraculous_claim",
    FREE_CONSULT: "free_consultation_bait",
    SAFETY: "absolute_safety_medicine",
}


def analyze(data: bytes) -> list[tuple[str, int, int]]:
    f = fold(data)
    n = len(f)
    has_crm = has_rqe = has_complication = False
    for s, e in sentences(f, n):
        for kind, _, _ in scan(f, s, e):
            has_crm |= kind == CRM_LABEL
            has_rqe |= kind == RQE_LABEL
            has_complication |= kind == COMPLICATION
    out: list[tuple[str, int, int]] = []
    for s, e in sentences(f, n):
        raffle: tuple[int, int] | None = None
        consult = False
        for kind, p, q in scan(f, s, e):
            if kind in _PHRASE_RULES:
                out.append((_PHRASE_RULES[kind], p, q))
            elif kind == SPECIALTY and not has_rqe:
                out.append(("specialty_without_rqe", p, q))
            elif kind == BEFORE_AFTER and not has_complication:
                out.append(("isolated_before_after", p, q))
            elif kind == RAFFLE and raffle is None:
                raffle = (p, q)
            consult |= kind in (CONSULT, FREE_CONSULT)
        if raffle is not None and consult:
            out.append(("free_consultation_bait", *raffle))
    if not has_crm:
        out.append(("missing_crm", 0, 0))
    return out


def scan(f: bytes, s: int, n: int) -> Iterator[tuple[int, int, int]]:
    """(kind, start, end) of each keyword at a word start in [s, n). A CRM or RQE label is
    reported only when a registration number follows it, and then spans label and number."""
    p = s
    while p < n:
        if not (word_at(f, p, n) and not word_before(f, p)):
            p += 1
            continue
        kind, q = _LEXICON.match(f, p, n)
        if kind < 0:
            p = word_end(f, p, n)
            continue
        if kind in (CRM_LABEL, RQE_LABEL):
            e = crm_number_end(f, q, n) if kind == CRM_LABEL else rqe_number_end(f, q, n)
            if e < 0:
                p = q
                continue
            q = e
        yield kind, p, q
        p = q

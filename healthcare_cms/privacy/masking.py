"""Mask patient data in free text before it reaches a log, a stored job error or Sentry.

Masking is deliberately broader than detection: anything shaped like an identifier is masked,
whether or not its check digits are valid, because a typo'd CPF is still a person's CPF.
"""

from __future__ import annotations

import re

_TITLE = r"(?:paciente|patient|sr\.?|sra\.?|srta\.?|mr\.?|mrs\.?|ms\.?|nome\s*:)"
_NAME_WORD = r"[A-ZÀ-Ý][a-zà-ÿ'\u2019-]+"

# Order matters: longer identifiers first so a CNS is not half-masked as a CPF.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    (re.compile(r"(?<!\d)[1-9]\d{2}[ .]?\d{4}[ .]?\d{4}[ .]?\d{4}(?!\d)"), "[CNS]"),
    (re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)"), "[CPF]"),
    (re.compile(r"(?<!\d)(?:\+?55[\s-]?)?\(?\d{2}\)?[\s-]?9?\d{4}[\s-]?\d{4}(?!\d)"), "[PHONE]"),
    (re.compile(r"(?<!\d)\d{5}-?\d{3}(?!\d)"), "[CEP]"),
    (re.compile(r"(?<!\d)\d{1,2}\.?\d{3}\.?\d{3}-?[\dXx](?![\dA-Za-z])"), "[ID]"),
    (re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{2,4}(?!\d)"), "[DATE]"),
    (re.compile(rf"(?i:{_TITLE})\s+{_NAME_WORD}(?:\s+(?:d[aeo]s?\s+)?{_NAME_WORD})*"), "[NAME]"),
)


def mask_patient_data(text: str) -> str:
    """Return `text` with identifiers, contacts, dates and titled names replaced by labels."""
    if not text:
        return text
    for pattern, label in _PATTERNS:
        text = pattern.sub(label, text)
    return text

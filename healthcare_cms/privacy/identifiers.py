"""Brazilian identifiers: check-digit validation and synthetic generation for tests and demos.

Rules from ../shared/reference/compliance-rules.md. Generated numbers are random and valid;
they belong to nobody we know of, and are only ever used as synthetic data.
"""

from __future__ import annotations

import random


def only_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _cpf_check_digits(first_nine: list[int]) -> tuple[int, int]:
    d1 = sum(d * (10 - i) for i, d in enumerate(first_nine)) * 10 % 11 % 10
    d2 = sum(d * (11 - i) for i, d in enumerate([*first_nine, d1])) * 10 % 11 % 10
    return d1, d2


def cpf_is_valid(text: str) -> bool:
    digits = [int(c) for c in only_digits(text)]
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    return _cpf_check_digits(digits[:9]) == (digits[9], digits[10])


def cpf_generate(rng: random.Random | None = None, *, formatted: bool = True) -> str:
    rng = rng or random.Random()
    while True:
        nine = [rng.randrange(10) for _ in range(9)]
        if len(set(nine)) > 1:
            break
    digits = "".join(map(str, [*nine, *_cpf_check_digits(nine)]))
    if not formatted:
        return digits
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def _cns_from_pis(pis: str) -> str:
    total = sum(int(d) * (15 - i) for i, d in enumerate(pis))
    dv = 11 - total % 11
    if dv == 11:
        dv = 0
    if dv == 10:
        total += 2
        dv = 11 - total % 11
        return f"{pis}001{dv}"
    return f"{pis}000{dv}"


def cns_is_valid(text: str) -> bool:
    digits = only_digits(text)
    if len(digits) != 15:
        return False
    if digits[0] in "12":
        return _cns_from_pis(digits[:11]) == digits
    if digits[0] in "789":
        return sum(int(d) * (15 - i) for i, d in enumerate(digits)) % 11 == 0
    return False


def cns_generate(rng: random.Random | None = None, *, provisional: bool = False) -> str:
    rng = rng or random.Random()
    if not provisional:
        pis = str(rng.choice("12")) + "".join(str(rng.randrange(10)) for _ in range(10))
        return _cns_from_pis(pis)
    while True:
        head = str(rng.choice("789")) + "".join(str(rng.randrange(10)) for _ in range(13))
        for last in range(10):
            candidate = head + str(last)
            if cns_is_valid(candidate):
                return candidate

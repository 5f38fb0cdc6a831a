"""Mask patient data in structured values: dicts, lists and numbers, as in Sentry events and
logging `extra` fields, where text masking alone misses a CPF given as an int.

`scrub_value` returns a masked copy: strings go through `mask_patient_data`; the value of a key
named like patient data (keys.sensitive_key_kind: nome, cpf, email, telefone, birth, ...) is
replaced by a label whatever its shape; integers whose digits are shaped like an identifier
become labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from healthcare_cms.privacy.identifiers import cpf_is_valid
from healthcare_cms.privacy.keys import sensitive_key_kind
from healthcare_cms.privacy.masking import REDACTED, mask_patient_data

MAX_DEPTH = 32
# A CPF with leading zeros loses them as an int; from 7 digits on, a valid one is masked.
SHORT_CPF_MIN = 10**6


def _mask_int(number: int) -> int | str:
    text = str(abs(number))
    masked = mask_patient_data(text)
    if masked != text:
        return masked
    if SHORT_CPF_MIN <= abs(number) < 10**11 and cpf_is_valid(text.zfill(11)):
        return "[CPF]"
    return number


def _label(kind: str, value: Any) -> str:
    return f"[{kind}]" if isinstance(value, str | int | float) else f"[{REDACTED}]"


def scrub_value(value: Any, *, key: object = None, _depth: int = 0) -> Any:
    """A copy of `value` with patient data masked. `key` is the name the value was found
    under (a dict key, a logging `extra` name): a patient-data key masks the whole value.
    Objects of other types are returned as they are (Sentry serialises them to text first)."""
    if value is None or isinstance(value, bool):
        return value
    kind = sensitive_key_kind(key)
    if kind is not None and value != "":
        return _label(kind, value)
    if isinstance(value, str):
        return mask_patient_data(value)
    if isinstance(value, bytes | bytearray):
        return mask_patient_data(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, int):
        return _mask_int(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            masked = _mask_int(int(value))
            return value if isinstance(masked, int) else masked
        return value
    if _depth >= MAX_DEPTH:
        return f"[{REDACTED}: nested too deep]"
    if isinstance(value, Mapping):
        scrubbed: dict[Any, Any] = {}
        for item_key, item in value.items():
            new_key = scrub_value(item_key, _depth=_depth + 1)
            while new_key in scrubbed:  # two keys masked to the same label: keep both values
                new_key = f"{new_key}'"
            scrubbed[new_key] = scrub_value(item, key=item_key, _depth=_depth + 1)
        return scrubbed
    if isinstance(value, list | tuple | set | frozenset):
        items = [scrub_value(item, _depth=_depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value

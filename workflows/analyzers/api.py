"""Entry points: run a built-in analyzer (wasm, sandboxed) or its Python reference on a text."""

from __future__ import annotations

from . import reference
from .errors import AnalyzerInputError
from .registry import analyzer_info, check_name, load
from .results import build_result

MAX_INPUT_BYTES = 1024 * 1024  # UTF-8 bytes per document


def encode_input(text: object) -> bytes:
    """The UTF-8 bytes of `text`, or AnalyzerInputError saying what is wrong (never quoting it)."""
    if not isinstance(text, str):
        raise AnalyzerInputError(f"content must be a str, got {type(text).__name__}")
    if len(text) > MAX_INPUT_BYTES:
        raise AnalyzerInputError(
            f"content is {len(text)} characters, over the {MAX_INPUT_BYTES}-byte limit; "
            "analyse it in smaller parts"
        )
    if not text.strip():
        raise AnalyzerInputError("content is empty or only whitespace: nothing to analyse")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise AnalyzerInputError(
            f"content has an unpaired surrogate at index {error.start}: not valid Unicode text"
        ) from None
    if len(data) > MAX_INPUT_BYTES:
        raise AnalyzerInputError(
            f"content is {len(data)} bytes of UTF-8, over the {MAX_INPUT_BYTES}-byte limit; "
            "analyse it in smaller parts"
        )
    return data


def run_analyzer(name: str, text: str) -> dict:
    """Run the wasm analyzer `name` on `text` in a fresh sandbox.

    Returns {"analyzer", "version", "abi_version", "sha256", "engine", "findings"} and, for lgpd,
    "phi_detected" and "risk_score". Findings are {"rule", "start", "end", "severity",
    "legal_reference"} with str offsets into `text`, sorted; they never contain the text.
    Raises AnalyzerInputError, AnalyzerTrap (sandbox stop) or AnalyzerError (bad plugin).
    """
    check_name(name)
    data = encode_input(text)
    raw = load(name).analyze(data)
    return build_result(name, raw, data, {**_header(name), "engine": "wasm"})


def run_reference(name: str, text: str) -> dict:
    """The same result from the pure-Python reference (no sandbox; "sha256" is None)."""
    check_name(name)
    data = encode_input(text)
    raw = reference.analyze(name, data)
    return build_result(name, raw, data, {**_header(name), "sha256": None, "engine": "reference"})


def _header(name: str) -> dict:
    info = analyzer_info(name)
    return {
        "analyzer": name,
        "version": info["version"],
        "abi_version": info["abi_version"],
        "sha256": info["sha256"],
    }

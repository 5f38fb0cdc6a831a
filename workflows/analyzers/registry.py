"""The three built-in plugins: manifest.json, checksum verification, one WasmAnalyzer per name
per process (compiled on first use)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import cache
from pathlib import Path

from .errors import AnalyzerError
from .runtime import ABI_VERSION, WasmAnalyzer

ANALYZER_NAMES = ("lgpd", "claims", "cfm")
PLUGINS_DIR = Path(__file__).resolve().parent / "plugins"
MANIFEST_PATH = PLUGINS_DIR / "manifest.json"

_lock = threading.Lock()
_loaded: dict[str, WasmAnalyzer] = {}


def _after_fork_in_child() -> None:
    # Another thread of the parent may have held the lock at the moment of the fork.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def check_name(name: object) -> str:
    if name not in ANALYZER_NAMES:
        expected = ", ".join(ANALYZER_NAMES)
        raise AnalyzerError(f"unknown analyzer {name!r}; expected one of {expected}")
    return name  # type: ignore[return-value]


@cache
def manifest() -> dict:
    try:
        return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AnalyzerError(
            f"cannot read {MANIFEST_PATH} ({error}); run `python -m workflows.analyzers.build`"
        ) from None


def manifest_entry(name: str) -> dict:
    entry = manifest().get("analyzers", {}).get(check_name(name))
    if entry is None:
        raise AnalyzerError(f"{name} is missing from {MANIFEST_PATH.name}; rebuild the plugins")
    return entry


def analyzer_info(name: str) -> dict:
    """{"name", "version", "abi_version", "sha256"} of a built-in analyzer, from the manifest."""
    entry = manifest_entry(name)
    return {key: entry[key] for key in ("name", "version", "abi_version", "sha256")}


def load(name: str) -> WasmAnalyzer:
    """The plugin, verified against manifest.json and compiled once."""
    analyzer = _loaded.get(name)
    if analyzer is not None:
        return analyzer
    with _lock:
        if name not in _loaded:
            _loaded[name] = _load_verified(name)
        return _loaded[name]


def _load_verified(name: str) -> WasmAnalyzer:
    entry = manifest_entry(name)
    path = PLUGINS_DIR / entry["file"]
    try:
        wasm = path.read_bytes()
    except OSError as error:
        raise AnalyzerError(f"cannot read plugin {path} ({error}); rebuild the plugins") from None
    digest = hashlib.sha256(wasm).hexdigest()
    if digest != entry["sha256"]:
        raise AnalyzerError(
            f"{path.name} has sha256 {digest}, manifest.json says {entry['sha256']}: refusing to "
            "run it. Rebuild with `python -m workflows.analyzers.build` (and check who changed it)."
        )
    if entry["abi_version"] != ABI_VERSION:
        raise AnalyzerError(
            f"{name} is built for ABI {entry['abi_version']}, this host speaks ABI {ABI_VERSION}"
        )
    return WasmAnalyzer(name, wasm)

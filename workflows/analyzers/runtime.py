"""The wasmtime host: one engine per process, modules compiled once, a fresh sandboxed Store per
document (fuel, epoch deadline, memory limit, no imports). Knows the ABI, not the rules.

Safe from several threads (Module is shared, Store is per call) and across fork: the engine, the
compiled modules and the epoch ticker belong to the process that created them and are rebuilt
lazily in a forked child (django-q2 forks its workers).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import wasmtime

from .errors import AnalyzerError, AnalyzerTrap

ABI_VERSION = 1
EPOCH_TICK_SECONDS = 0.01
MAX_WASM_STACK_BYTES = 512 * 1024
MAX_TABLE_ELEMENTS = 10_000
RAW_FINDING = tuple[str, int, int]
T = TypeVar("T")


@dataclass(frozen=True)
class SandboxLimits:
    """Per-document limits. Fuel is base + per_byte * input bytes: the real plugins (lgpd and
    cfm 2.0) measured 170-460 fuel per byte on ordinary text and up to about 3,100 on the worst
    adversarial repetition found by bench/analyzer_fuel.py (docs/analyzers.md), so 4,000 per byte
    leaves about 1.3x on the worst case and about 9x on ordinary text."""

    fuel_base: int = 10_000_000
    fuel_per_byte: int = 4_000
    deadline_seconds: float = 2.0
    memory_bytes: int = 64 * 1024 * 1024
    max_result_bytes: int = 48 * 1024 * 1024

    def fuel_for(self, size: int) -> int:
        return self.fuel_base + self.fuel_per_byte * size

    @property
    def deadline_ticks(self) -> int:
        return max(1, math.ceil(self.deadline_seconds / EPOCH_TICK_SECONDS))


DEFAULT_LIMITS = SandboxLimits()

_TRAP_REASONS = {
    wasmtime.TrapCode.OUT_OF_FUEL: "fuel",
    wasmtime.TrapCode.INTERRUPT: "deadline",
    wasmtime.TrapCode.STACK_OVERFLOW: "stack",
}
_EXPECTED_FUNCS = {
    "abi_version": ((), ("i32",)),
    "alloc": (("i32",), ("i32",)),
    "analyze": (("i32", "i32"), ("i64",)),
}


class _EpochTicker:
    """Advances the engine's epoch every EPOCH_TICK_SECONDS while at least one call is running,
    so an idle process has no busy thread. Started lazily, daemon."""

    def __init__(self, engine: wasmtime.Engine):
        self._engine = engine
        self._cond = threading.Condition()
        self._active = 0
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._cond:
            self._active += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wasm-epoch-ticker", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._active == 0:
                    self._cond.wait()
            time.sleep(EPOCH_TICK_SECONDS)
            self._engine.increment_epoch()


class _Process:
    """Everything that must not cross a fork: engine, compiled modules, epoch ticker."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        config.max_wasm_stack = MAX_WASM_STACK_BYTES
        # Parallel compilation uses a thread pool, which does not survive a fork.
        config.parallel_compilation = False
        self.engine = wasmtime.Engine(config)
        self.ticker = _EpochTicker(self.engine)
        self._modules: dict[str, wasmtime.Module] = {}
        self._lock = threading.Lock()

    def module(self, name: str, sha256: str, wasm: bytes) -> wasmtime.Module:
        with self._lock:
            module = self._modules.get(sha256)
            if module is None:
                module = _compile(self.engine, name, wasm)
                self._modules[sha256] = module
            return module


_process_lock = threading.Lock()
_current: _Process | None = None
# Objects made by the parent are kept, never destroyed, in a forked child: their native
# destructors could wait on a lock that another parent thread held at the moment of the fork.
_inherited: list[_Process] = []


def _process() -> _Process:
    proc = _current
    if proc is not None and proc.pid == os.getpid():
        return proc
    return _new_process()


def _new_process() -> _Process:
    global _current
    with _process_lock:
        if _current is None or _current.pid != os.getpid():
            if _current is not None:
                _inherited.append(_current)
            _current = _Process()
        return _current


def _after_fork_in_child() -> None:
    global _process_lock
    _process_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _compile(engine: wasmtime.Engine, name: str, wasm: bytes) -> wasmtime.Module:
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as error:
        raise AnalyzerError(f"{name}: not a valid WebAssembly module ({error})") from None
    if module.imports:
        wanted = ", ".join(f"{imp.module}.{imp.name}" for imp in module.imports)
        raise AnalyzerError(
            f"{name}: the module imports {wanted}; analyzer plugins must have no imports "
            "(no WASI, no host functions). Build with -nostdlib for wasm32-freestanding."
        )
    exports = {export.name: export.type for export in module.exports}
    if not isinstance(exports.get("memory"), wasmtime.MemoryType):
        raise AnalyzerError(f"{name}: the module does not export its memory as 'memory' (ABI 1)")
    for func, (params, results) in _EXPECTED_FUNCS.items():
        kind = exports.get(func)
        if kind is None:
            raise AnalyzerError(f"{name}: the module does not export {func} (ABI 1)")
        signature = (
            (tuple(str(p) for p in kind.params), tuple(str(r) for r in kind.results))
            if isinstance(kind, wasmtime.FuncType)
            else None
        )
        if signature != (params, results):
            raise AnalyzerError(
                f"{name}: export {func} must be a function {params} -> {results} (ABI 1), "
                f"found {signature}"
            )
    return module


def _trap(name: str, error: Exception) -> AnalyzerTrap:
    reason = _TRAP_REASONS.get(getattr(error, "trap_code", None), "trap")
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return AnalyzerTrap(reason, f"{name}: the sandbox stopped the module ({reason}): {message}")


class WasmAnalyzer:
    """One analyzer plugin. `analyze` runs it on UTF-8 bytes in a fresh sandbox and returns the
    raw findings (rule id, start byte, end byte), checked against the input size.

    Construction compiles the module (refusing imports and wrong export types) and checks its
    abi_version() once, in the sandbox: the answer is a property of the code, so it is not asked
    again for every document.
    """

    def __init__(self, name: str, wasm: bytes, *, limits: SandboxLimits = DEFAULT_LIMITS):
        self.name = name
        self.limits = limits
        self.sha256 = hashlib.sha256(wasm).hexdigest()
        self._wasm = wasm
        module = _process().module(self.name, self.sha256, self._wasm)
        memory = next(e.type for e in module.exports if e.name == "memory")
        self.initial_memory_bytes = memory.limits.min * 65536
        abi = self._sandboxed(0, lambda store, exports: exports["abi_version"](store))
        if abi != ABI_VERSION:
            raise AnalyzerError(
                f"{self.name}: abi_version() is {abi}, this host speaks ABI {ABI_VERSION}; "
                "rebuild the plugin or upgrade the host"
            )

    @classmethod
    def from_bytes(
        cls, name: str, wasm: bytes | str, *, limits: SandboxLimits = DEFAULT_LIMITS
    ) -> WasmAnalyzer:
        """Any module, binary or WAT text, under the same sandbox (tests load hostile ones)."""
        if isinstance(wasm, str):
            wasm = wasmtime.wat2wasm(wasm)
        return cls(name, bytes(wasm), limits=limits)

    def analyze(self, data: bytes) -> list[RAW_FINDING]:
        return self._sandboxed(len(data), lambda store, exports: self._call(store, exports, data))

    def _sandboxed(self, size: int, work: Callable[[wasmtime.Store, dict], T]) -> T:
        """Run work(store, exports) on a fresh instance in a fresh, limited store."""
        if self.initial_memory_bytes > self.limits.memory_bytes:
            raise AnalyzerTrap(
                "memory",
                f"{self.name}: the module starts with {self.initial_memory_bytes} bytes of "
                f"memory, over the {self.limits.memory_bytes}-byte limit",
            )
        proc = _process()
        module = proc.module(self.name, self.sha256, self._wasm)
        store = wasmtime.Store(proc.engine)
        store.set_limits(
            memory_size=self.limits.memory_bytes,
            table_elements=MAX_TABLE_ELEMENTS,
            instances=1,
            tables=1,
            memories=1,
        )
        store.set_fuel(self.limits.fuel_for(size))
        store.set_epoch_deadline(self.limits.deadline_ticks)
        with proc.ticker.running():
            try:
                instance = wasmtime.Instance(store, module, [])
                return work(store, instance.exports(store))
            except wasmtime.Trap as error:  # not a WasmtimeError subclass in wasmtime 50
                raise _trap(self.name, error) from None
            except wasmtime.WasmtimeError as error:
                raise _trap(self.name, error) from None

    def _call(self, store: wasmtime.Store, exports, data: bytes) -> list[RAW_FINDING]:
        memory = exports["memory"]
        ptr = exports["alloc"](store, len(data)) & 0xFFFF_FFFF
        if ptr == 0:
            raise AnalyzerTrap("memory", f"{self.name}: alloc({len(data)}) failed: out of memory")
        if ptr + len(data) > memory.data_len(store):
            raise AnalyzerError(f"{self.name}: alloc returned {ptr}, outside linear memory")
        memory.write(store, data, ptr)
        packed = exports["analyze"](store, ptr, len(data)) & 0xFFFF_FFFF_FFFF_FFFF
        if packed == 0:
            raise AnalyzerTrap("memory", f"{self.name}: the module ran out of memory")
        out_ptr, out_len = packed >> 32, packed & 0xFFFF_FFFF
        if out_len > self.limits.max_result_bytes or out_ptr + out_len > memory.data_len(store):
            raise AnalyzerError(
                f"{self.name}: result span {out_ptr}+{out_len} is outside linear memory or over "
                f"{self.limits.max_result_bytes} bytes"
            )
        return parse_result(self.name, memory.read(store, out_ptr, out_ptr + out_len), len(data))


def parse_result(name: str, raw: bytes, size: int) -> list[RAW_FINDING]:
    """Decode {"findings": [[rule, start, end], ...]}; fail closed on anything else."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AnalyzerError(f"{name}: the result is not valid UTF-8 JSON (ABI 1)") from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list):
        raise AnalyzerError(f"{name}: the result has no 'findings' list (ABI 1)")
    out = []
    for item in findings:
        if type(item) is not list or len(item) != 3:
            raise AnalyzerError(f"{name}: a finding is not [rule, start, end] (ABI 1)")
        rule, start, end = item
        if type(rule) is not str or type(start) is not int or type(end) is not int:
            raise AnalyzerError(f"{name}: a finding is not [rule, start, end] (ABI 1)")
        if not 0 <= start <= end <= size:
            raise AnalyzerError(
                f"{name}: finding {rule!r} spans bytes {start}..{end}, outside the "
                f"{size}-byte input"
            )
        out.append((rule, start, end))
    return out

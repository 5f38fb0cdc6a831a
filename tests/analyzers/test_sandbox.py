"""The wasmtime sandbox: hostile modules are stopped or refused, limits hold for the real plugins,
every document gets a fresh store, and the host works from threads and forked processes."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from workflows.analyzers import (
    MAX_INPUT_BYTES,
    AnalyzerError,
    AnalyzerTrap,
    run_analyzer,
)
from workflows.analyzers.registry import PLUGINS_DIR
from workflows.analyzers.runtime import DEFAULT_LIMITS, SandboxLimits, WasmAnalyzer

RESULT_AT = 16  # where the test modules keep their JSON result


def wat(
    analyze_body: str,
    *,
    result: str = '{"findings":[]}',
    abi: int = 1,
    memory_pages: int = 1,
    alloc_body: str | None = None,
    extra: str = "",
) -> str:
    """A module that follows ABI 1 except where a test overrides a piece."""
    escaped = result.replace("\\", "\\\\").replace('"', '\\"')
    alloc = (
        alloc_body
        or """
        (local $p i32)
        (local.set $p (global.get $heap))
        (if (i32.gt_u (i32.add (local.get $p) (local.get $len))
                      (i32.mul (memory.size) (i32.const 65536)))
          (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16))
                                                  (i32.const 1)))
                            (i32.const -1))
                  (then (return (i32.const 0))))))
        (global.set $heap (i32.add (local.get $p) (local.get $len)))
        (local.get $p)"""
    )
    return f"""
    (module
      {extra}
      (memory (export "memory") {memory_pages})
      (global $heap (mut i32) (i32.const 1024))
      (data (i32.const {RESULT_AT}) "{escaped}")
      (func (export "abi_version") (result i32) (i32.const {abi}))
      (func (export "alloc") (param $len i32) (result i32) {alloc})
      (func $analyze (export "analyze") (param $ptr i32) (param $len i32) (result i64)
        {analyze_body}))
    """


def packed(ptr: int, length: int) -> str:
    return f"(i64.const {ptr << 32 | length})"


def result_of(text: str) -> str:
    return packed(RESULT_AT, len(text.encode()))


def stopped(module: str, *, limits: SandboxLimits = DEFAULT_LIMITS, data: bytes = b"x") -> str:
    with pytest.raises(AnalyzerTrap) as caught:
        WasmAnalyzer.from_bytes("hostile", module, limits=limits).analyze(data)
    return caught.value.reason


# ---- hostile modules ------------------------------------------------------------------------


def test_a_well_behaved_test_module_runs():
    result = '{"findings":[["x",0,1]]}'
    analyzer = WasmAnalyzer.from_bytes("ok", wat(result_of(result), result=result))
    assert analyzer.analyze(b"x") == [("x", 0, 1)]


def test_an_infinite_loop_runs_out_of_fuel_under_the_default_limits():
    started = time.monotonic()
    assert stopped(wat("(loop $l (br $l)) (i64.const 0)")) == "fuel"
    assert time.monotonic() - started < 1


def test_an_infinite_loop_with_unlimited_fuel_hits_the_epoch_deadline():
    limits = SandboxLimits(fuel_base=10**15, deadline_seconds=0.2)
    started = time.monotonic()
    assert stopped(wat("(loop $l (br $l)) (i64.const 0)"), limits=limits) == "deadline"
    assert time.monotonic() - started < 1.5


def test_growing_memory_without_bound_is_stopped_as_memory():
    grow = """
        (block $full (loop $more
          (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
          (br $more)))
        (i64.const 0)"""
    assert stopped(wat(grow)) == "memory"


def test_an_alloc_that_fails_is_reported_as_memory():
    assert stopped(wat(result_of("{}"), alloc_body="(i32.const 0)")) == "memory"


def test_a_module_whose_initial_memory_exceeds_the_limit_is_stopped_as_memory():
    assert stopped(wat("(i64.const 0)", memory_pages=2000)) == "memory"


def test_deep_recursion_is_stopped_as_stack():
    assert stopped(wat("(call $analyze (local.get $ptr) (local.get $len))")) == "stack"


def test_any_other_trap_is_reported_as_trap():
    assert stopped(wat("unreachable")) == "trap"


def test_running_out_of_fuel_is_reported_as_fuel_for_a_real_plugin():
    wasm = (PLUGINS_DIR / "lgpd.wasm").read_bytes()
    starved = WasmAnalyzer.from_bytes(
        "lgpd", wasm, limits=SandboxLimits(fuel_base=5_000, fuel_per_byte=0)
    )
    with pytest.raises(AnalyzerTrap) as caught:
        starved.analyze("Paciente Maria, diabética. ".encode() * 100)
    assert caught.value.reason == "fuel"


@pytest.mark.parametrize(
    "imports",
    [
        '(import "env" "log" (func (param i32)))',
        '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
        '(import "env" "memory" (memory 1))',
    ],
)
def test_a_module_with_any_import_is_refused(imports):
    with pytest.raises(AnalyzerError, match="imports") as caught:
        WasmAnalyzer.from_bytes("hostile", wat("(i64.const 0)", extra=imports))
    assert not isinstance(caught.value, AnalyzerTrap)


# ---- ABI violations fail closed ---------------------------------------------------------------


def abi_error(module: str, data: bytes = b"abc") -> str:
    with pytest.raises(AnalyzerError) as caught:
        WasmAnalyzer.from_bytes("broken", module).analyze(data)
    assert not isinstance(caught.value, AnalyzerTrap)
    return str(caught.value)


def test_a_module_speaking_another_abi_version_is_refused_at_load():
    with pytest.raises(AnalyzerError, match=r"abi_version\(\) is 2"):
        WasmAnalyzer.from_bytes("broken", wat(result_of("{}"), abi=2))


def test_a_module_whose_start_function_loops_is_stopped_at_load():
    looping_start = "(func $start (loop $l (br $l))) (start $start)"
    assert stopped(wat("(i64.const 0)", extra=looping_start)) == "fuel"


def test_missing_exports_are_refused_at_load():
    with pytest.raises(AnalyzerError, match="does not export abi_version"):
        WasmAnalyzer.from_bytes("broken", '(module (memory (export "memory") 1))')
    with pytest.raises(AnalyzerError, match="analyze must be a function"):
        WasmAnalyzer.from_bytes(
            "broken",
            wat("(i64.const 0)")
            .replace("(param $len i32) (result i64)", "(param $len i32) (result i32)")
            .replace("(i64.const 0)", "(i32.const 0)"),
        )


@pytest.mark.parametrize(
    "result",
    [
        '{"findings":[["x",0,999]]}',  # past the end of the input
        '{"findings":[["x",2,1]]}',  # end before start
        '{"findings":[["x",-1,1]]}',
        '{"findings":[["x",0]]}',
        '{"findings":[[7,0,1]]}',
        '{"findings":"none"}',
        '{"results":[]}',
        "not json",
    ],
)
def test_results_that_break_the_abi_are_refused(result):
    abi_error(wat(result_of(result), result=result))


def test_a_result_pointing_outside_linear_memory_is_refused():
    assert "outside linear memory" in abi_error(wat(packed(60_000, 10_000)))


def test_an_alloc_pointer_outside_linear_memory_is_refused():
    assert "outside linear memory" in abi_error(wat("(i64.const 0)", alloc_body="(i32.const -8)"))


# ---- a fresh store per document ---------------------------------------------------------------


def test_every_document_gets_a_fresh_instance_with_zeroed_memory():
    result = '{"findings":[["x",0,0]]}'
    digit_at = RESULT_AT + result.index("0]")
    # Counts its calls in a global, and adds 5 if it sees the marker a previous call left in
    # memory. In a fresh instance the count is always 1.
    body = f"""
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (if (i32.load8_u (i32.const 60000))
          (then (global.set $calls (i32.add (global.get $calls) (i32.const 5)))))
        (i32.store8 (i32.const 60000) (i32.const 1))
        (i32.store8 (i32.const {digit_at}) (i32.add (i32.const 48) (global.get $calls)))
        {result_of(result)}"""
    analyzer = WasmAnalyzer.from_bytes(
        "stateful",
        wat(body, result=result, extra="(global $calls (mut i32) (i32.const 0))"),
    )
    assert [analyzer.analyze(b"doc") for _ in range(3)] == [[("x", 0, 1)]] * 3


# ---- the real plugins within their limits -------------------------------------------------------


def _size_limit_text(unit: str) -> str:
    text = unit * (MAX_INPUT_BYTES // len(unit.encode()) + 1)
    data = text.encode()[:MAX_INPUT_BYTES]
    return data.decode("utf-8", errors="ignore")


DENSE = (
    "Paciente Maria da Silva, CPF 529.982.247-25, tel (11) 98765-4321, maria@exemplo.com.br, "
    "diabética, CID E11.9. Cura 90% dos casos! O melhor dermatologista, sem efeitos colaterais, "
    "antes e depois, consulta grátis. CRM/SP 123456. "
)


@pytest.mark.parametrize("name", ["lgpd", "claims", "cfm"])
def test_the_real_plugins_analyse_a_dense_text_at_the_size_limit_within_the_limits(name):
    text = _size_limit_text(DENSE)
    assert len(text.encode()) > MAX_INPUT_BYTES - 4
    assert run_analyzer(name, text)["findings"]  # default fuel, deadline and memory


def test_the_costliest_known_input_fits_the_fuel_budget():
    # Repeated "consulte o " makes cfm compare the many keywords starting with "cons" at each
    # word, twice (a referral looks at the next word), in both passes: the worst repetition
    # bench/analyzer_fuel.py found for cfm 2.0, about 3,100 fuel per byte. Only fuel is under
    # test here, so a busy test machine cannot turn it into a deadline failure.
    wasm = (PLUGINS_DIR / "cfm.wasm").read_bytes()
    cfm = WasmAnalyzer.from_bytes("cfm", wasm, limits=SandboxLimits(deadline_seconds=60))
    assert cfm.limits.fuel_for(1) == DEFAULT_LIMITS.fuel_for(1)
    assert cfm.analyze(_size_limit_text("consulte o ").encode()) == [("missing_crm", 0, 0)]
    assert cfm.analyze(_size_limit_text("co ").encode()) == [("missing_crm", 0, 0)]
    lgpd = WasmAnalyzer.from_bytes(
        "lgpd", (PLUGINS_DIR / "lgpd.wasm").read_bytes(), limits=SandboxLimits(deadline_seconds=60)
    )
    # lgpd's worst: an address (a contact that looks for a business marker) every 10 bytes.
    assert len(lgpd.analyze(_size_limit_text("Rua Ab, 1 ").encode())) > 100_000


def test_a_real_plugin_that_cannot_grow_its_memory_reports_memory():
    wasm = (PLUGINS_DIR / "lgpd.wasm").read_bytes()
    small = WasmAnalyzer.from_bytes("lgpd", wasm, limits=SandboxLimits(memory_bytes=512 * 1024))
    with pytest.raises(AnalyzerTrap) as input_too_big:
        small.analyze(b"diabetes " * 60_000)
    # The input fits but the result does not: the plugin reports out-of-memory (0).
    with pytest.raises(AnalyzerTrap) as result_too_big:
        small.analyze(b"E11.9 " * 30_000)
    assert (input_too_big.value.reason, result_too_big.value.reason) == ("memory", "memory")


# ---- threads and processes ---------------------------------------------------------------


def test_concurrent_calls_from_threads_give_the_same_results_as_sequential_calls():
    texts = [
        f"Paciente Maria {i}, tel (11) 98765-43{i:02d}. Cura {i}% dos casos." for i in range(40)
    ]
    jobs = [(name, text) for text in texts for name in ("lgpd", "claims", "cfm")]
    sequential = [run_analyzer(name, text) for name, text in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda job: run_analyzer(*job), jobs))
    assert concurrent == sequential


def test_a_looping_module_in_one_thread_does_not_block_the_others():
    looping = WasmAnalyzer.from_bytes(
        "loop",
        wat("(loop $l (br $l)) (i64.const 0)"),
        limits=SandboxLimits(fuel_base=10**15, deadline_seconds=0.5),
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        stuck = pool.submit(looping.analyze, b"x")
        started = time.monotonic()
        assert run_analyzer("lgpd", "Patient John Doe has diabetes")["risk_score"] == 85
        assert time.monotonic() - started < 0.4
        with pytest.raises(AnalyzerTrap):
            stuck.result()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_rebuilds_its_engine_and_epoch_ticker():
    # The parent has an engine, compiled modules and a ticker thread; the child inherits none of
    # the threads. A deadline can only fire in the child if it starts its own ticker.
    assert run_analyzer("lgpd", "Patient John Doe has diabetes")["risk_score"] == 85
    looping = WasmAnalyzer.from_bytes(
        "loop",
        wat("(loop $l (br $l)) (i64.const 0)"),
        limits=SandboxLimits(fuel_base=10**15, deadline_seconds=0.2),
    )
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        try:
            os.close(read_end)
            report = {"score": run_analyzer("lgpd", "Patient John Doe has diabetes")["risk_score"]}
            try:
                looping.analyze(b"x")
            except AnalyzerTrap as error:
                report["reason"] = error.reason
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    os.waitpid(pid, 0)
    assert report == {"score": 85, "reason": "deadline"}

"""Benchmark the analyzers: WebAssembly plugin vs Python reference, side by side.

    .venv/bin/python bench/analyzers.py [--runs 3] [--documents 1] [--posts 200]

Throughput: MB/s over `--documents` synthetic texts of 1 MiB (the size limit), through the public
API (run_analyzer / run_reference, host-side result building included), and for the scan alone.
Per post: median and p95 microseconds per call on ~2 KB posts. Every figure is the median of
`--runs` runs. Only sizes and timings are printed, never the analysed text or what matched.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.analyzers import (
    ANALYZER_NAMES,
    MAX_INPUT_BYTES,
    analyzer_info,
    reference,
    registry,
    run_analyzer,
    run_reference,
)

ENGINES = {"wasm": run_analyzer, "reference": run_reference}
# The scan alone, on bytes, without input checks and result building (offsets, metadata, scoring).
SCANS = {
    "wasm": lambda name, text: registry.load(name).analyze(text.encode()),
    "reference": lambda name, text: reference.analyze(name, text.encode()),
}
POST_BYTES = 2048
# Synthetic fragments: identifiers are made up (the CPF and CNS are check-digit-valid test values).
FRAGMENTS = (
    "Paciente Maria da Silva, CPF 529.982.247-25, nascida em 12/03/1985. ",
    "Contato: (11) 98765-4321, maria.silva@exemplo.com.br, CEP 01310-100. ",
    "CNS 898 0017 1234 5674. Diagnóstico: CID E11.9, em uso de insulina. ",
    "Dra. Ana Lima, dermatologista, CRM/SP 123456, RQE nº 6789. ",
    "Este tratamento cura 90% dos casos e é comprovado cientificamente! ",
    "Resultado garantido, sem efeitos colaterais; primeira consulta grátis. ",
    "Veja o antes e depois. Fonte: https://doi.org/10.1000/exemplo. ",
    "A alimentação equilibrada e a atividade física ajudam no bem-estar de todos. ",
    "Hipertensão e diabetes exigem acompanhamento médico regular. ",
    "Agende sua consulta: R$ 350,00, em até 3x no cartão. ",
)


def synthetic_text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    total = 0
    while total < size:
        fragment = rng.choice(FRAGMENTS)
        parts.append(fragment)
        total += len(fragment.encode())
    return "".join(parts).encode()[:size].decode("utf-8", errors="ignore")


def throughput(run, name: str, documents: list[str]) -> float:
    """MB/s (10^6 bytes per second) over all documents."""
    size = sum(len(text.encode()) for text in documents)
    started = time.perf_counter()
    for text in documents:
        run(name, text)
    return size / (time.perf_counter() - started) / 1e6


def per_post(run, name: str, posts: list[str]) -> tuple[float, float]:
    """(median, p95) microseconds per call."""
    costs = []
    for text in posts:
        started = time.perf_counter()
        run(name, text)
        costs.append((time.perf_counter() - started) * 1e6)
    costs.sort()
    return statistics.median(costs), costs[min(len(costs) - 1, int(len(costs) * 0.95))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median reported)")
    parser.add_argument("--documents", type=int, default=1, help="1 MiB documents per run")
    parser.add_argument("--posts", type=int, default=200, help="~2 KB posts per run")
    args = parser.parse_args(argv)

    rng = random.Random(2024)
    documents = [synthetic_text(rng, MAX_INPUT_BYTES) for _ in range(args.documents)]
    posts = [synthetic_text(rng, POST_BYTES) for _ in range(args.posts)]
    for name in ANALYZER_NAMES:  # compile and warm up outside the timings
        for run in ENGINES.values():
            run(name, posts[0])

    print(f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"python {platform.python_version()}, wasmtime {version('wasmtime')}")
    print(
        f"large text: {args.documents} x {MAX_INPUT_BYTES} bytes; posts: {args.posts} x "
        f"~{POST_BYTES} bytes; median of {args.runs} runs"
    )
    header = (
        f"{'analyzer':9} {'version':8} {'engine':10} {'API MB/s':>9} {'scan MB/s':>10} "
        f"{'post median us':>15} {'post p95 us':>12}"
    )
    print(header)
    print("-" * len(header))
    for name in ANALYZER_NAMES:
        for engine, run in ENGINES.items():
            rates = [throughput(run, name, documents) for _ in range(args.runs)]
            scans = [throughput(SCANS[engine], name, documents) for _ in range(args.runs)]
            posts_runs = [per_post(run, name, posts) for _ in range(args.runs)]
            median_us = statistics.median(m for m, _ in posts_runs)
            p95_us = statistics.median(p for _, p in posts_runs)
            print(
                f"{name:9} {analyzer_info(name)['version']:8} {engine:10} "
                f"{statistics.median(rates):9.2f} {statistics.median(scans):10.2f} "
                f"{median_us:15.0f} {p95_us:12.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

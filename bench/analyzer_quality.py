"""Precision and recall of the lgpd and cfm analyzers on the quality corpus, per category.

    .venv/bin/python bench/analyzer_quality.py [--engine wasm|reference] [--misses]

The corpus (tests/analyzers/data/quality_corpus.txt) is synthetic: posts written for this test,
with check-digit-valid synthetic CPF/CNS numbers filled in from a fixed seed. lgpd figures:
text precision and recall of `phi_detected` (a text "identifies a patient"), span recall (each
annotated [[rule|span]] overlapped by a finding of the same rule), and per category. cfm figures:
precision and recall of (text, rule) pairs, per rule. `--misses` names the records that miss, by
id only (the texts are synthetic, but the habit of never printing analysed text is kept).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthcare_cms.privacy.identifiers import cns_generate, cpf_generate
from workflows.analyzers import analyzer_info, run_analyzer, run_reference

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "analyzers" / "data" / "quality_corpus.txt"
ENGINES = {"wasm": run_analyzer, "reference": run_reference}
SEED = 15
_MARK = re.compile(r"\[\[([a-z0-9_]+)\|(.+?)\]\]")
# Findings that are not rule breaches of a publicity piece: the identification rules are scored
# only where a record expects them.
CFM_IDENTIFICATION = {"missing_crm", "specialty_without_rqe"}


@dataclass
class Record:
    id: str
    analyzer: str
    category: str
    text: str
    phi: bool = False  # lgpd
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # lgpd
    rules: frozenset[str] = frozenset()  # cfm


def _fill(template: str, rng: random.Random) -> str:
    def cpf(formatted: bool) -> str:
        return cpf_generate(rng, formatted=formatted)

    def spaced(number: str) -> str:
        return f"{number[:3]} {number[3:6]} {number[6:9]} {number[9:]}"

    def cns_spaced() -> str:
        cns = cns_generate(rng, provisional=True)
        return f"{cns[:3]} {cns[3:7]} {cns[7:11]} {cns[11:]}"

    values = {
        "{cpf}": lambda: cpf(True),
        "{cpf_bare}": lambda: cpf(False),
        "{cpf_spaced}": lambda: spaced(cpf(False)),
        "{cns}": lambda: cns_generate(rng),
        "{cns_spaced}": cns_spaced,
    }
    return re.sub(r"\{[a-z_]+\}", lambda m: values[m.group(0)](), template)


def _parse(marked: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Strip the [[rule|span]] marks; return the text and the marked (rule, start, end)."""
    out: list[str] = []
    spans = []
    pos = length = 0
    for m in _MARK.finditer(marked):
        out.append(marked[pos : m.start()])
        length += m.start() - pos
        spans.append((m.group(1), length, length + len(m.group(2))))
        out.append(m.group(2))
        length += len(m.group(2))
        pos = m.end()
    out.append(marked[pos:])
    return "".join(out), spans


def load(path: Path = CORPUS) -> list[Record]:
    """The corpus records, placeholders filled from a fixed seed."""
    rng = random.Random(SEED)
    records: list[Record] = []
    header = None
    lines: list[str] = []

    def close() -> None:
        if header is None:
            return
        analyzer, category, expectation = header
        marked = _fill("\n".join(lines).strip("\n"), rng)
        text, spans = _parse(marked)
        rid = f"{analyzer}-{len(records) + 1:03d}-{category}"
        if analyzer == "lgpd":
            if expectation not in ("phi", "clean"):
                raise ValueError(f"{rid}: lgpd expectation must be phi or clean")
            records.append(Record(rid, analyzer, category, text, expectation == "phi", spans))
        else:
            rules = frozenset() if expectation == "none" else frozenset(expectation.split(","))
            records.append(Record(rid, analyzer, category, text, rules=rules))

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            close()
            parts = line[3:].split()
            if len(parts) != 3:
                raise ValueError(f"bad record header {line!r}")
            header = (parts[0], parts[1], parts[2])
            lines = []
        elif line.startswith("#") and header is None:
            continue
        else:
            lines.append(line)
    close()
    return records


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


@dataclass
class Scores:
    """Counts behind every figure, so tests can assert on them."""

    text_tp: int = 0
    text_fp: int = 0
    text_fn: int = 0
    spans_found: int = 0
    spans_total: int = 0
    categories: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # tp fp fn
    span_rules: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # found total
    cfm_rules: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # tp fp fn
    misses: list = field(default_factory=list)

    @property
    def text_precision(self) -> float:
        return _ratio(self.text_tp, self.text_tp + self.text_fp)

    @property
    def text_recall(self) -> float:
        return _ratio(self.text_tp, self.text_tp + self.text_fn)

    @property
    def span_recall(self) -> float:
        return _ratio(self.spans_found, self.spans_total)

    def cfm_totals(self) -> tuple[int, int, int]:
        return tuple(sum(v[i] for v in self.cfm_rules.values()) for i in range(3))

    @property
    def cfm_precision(self) -> float:
        tp, fp, _ = self.cfm_totals()
        return _ratio(tp, tp + fp)

    @property
    def cfm_recall(self) -> float:
        tp, _, fn = self.cfm_totals()
        return _ratio(tp, tp + fn)


def evaluate(records: list[Record], engine: str = "wasm") -> Scores:
    run = ENGINES[engine]
    scores = Scores()
    for record in records:
        result = run(record.analyzer, record.text)
        findings = result["findings"]
        if record.analyzer == "lgpd":
            got = bool(result["phi_detected"])
            cat = scores.categories[record.category]
            if got and record.phi:
                scores.text_tp += 1
                cat[0] += 1
            elif got:
                scores.text_fp += 1
                cat[1] += 1
                scores.misses.append(f"{record.id}: false positive")
            elif record.phi:
                scores.text_fn += 1
                cat[2] += 1
                scores.misses.append(f"{record.id}: PHI missed")
            for rule, start, end in record.spans:
                hit = any(
                    f["rule"] == rule and f["start"] < end and start < f["end"] for f in findings
                )
                scores.spans_total += 1
                scores.spans_found += hit
                scores.span_rules[rule][1] += 1
                scores.span_rules[rule][0] += hit
                if not hit:
                    scores.misses.append(f"{record.id}: span {rule}@{start}-{end} missed")
        else:
            got_rules = {f["rule"] for f in findings} - (CFM_IDENTIFICATION - record.rules)
            for rule in got_rules | record.rules:
                counts = scores.cfm_rules[rule]
                if rule in got_rules and rule in record.rules:
                    counts[0] += 1
                elif rule in got_rules:
                    counts[1] += 1
                    scores.misses.append(f"{record.id}: unexpected {rule}")
                else:
                    counts[2] += 1
                    scores.misses.append(f"{record.id}: missed {rule}")
    return scores


def _revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=CORPUS.parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(scores: Scores, records: list[Record], engine: str) -> str:
    lgpd = [r for r in records if r.analyzer == "lgpd"]
    cfm = [r for r in records if r.analyzer == "cfm"]
    lines = [
        f"git revision {_revision()}; engine {engine}; lgpd {analyzer_info('lgpd')['version']}, "
        f"cfm {analyzer_info('cfm')['version']}",
        f"corpus: {len(lgpd)} lgpd texts ({sum(r.phi for r in lgpd)} with PHI, "
        f"{sum(not r.phi for r in lgpd)} clean), {len(cfm)} cfm texts",
        "",
        "lgpd, texts (phi_detected):",
        f"  precision {scores.text_precision:.3f}  recall {scores.text_recall:.3f}  "
        f"span recall {scores.span_recall:.3f} ({scores.spans_found}/{scores.spans_total})",
        "",
        f"  {'category':18} {'texts':>5} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} "
        f"{'recall':>7}",
    ]
    totals = defaultdict(int)
    for record in lgpd:
        totals[record.category] += 1
    for category, (tp, fp, fn) in sorted(scores.categories.items()):
        lines.append(
            f"  {category:18} {totals[category]:5d} {tp:4d} {fp:4d} {fn:4d} "
            f"{_ratio(tp, tp + fp):9.3f} {_ratio(tp, tp + fn):7.3f}"
        )
    lines += ["", f"  {'span rule':18} {'found':>5} {'total':>5} {'recall':>7}"]
    for rule, (hit, total) in sorted(scores.span_rules.items()):
        lines.append(f"  {rule:18} {hit:5d} {total:5d} {_ratio(hit, total):7.3f}")
    tp, fp, fn = scores.cfm_totals()
    lines += [
        "",
        "cfm, (text, rule) pairs:",
        f"  precision {scores.cfm_precision:.3f}  recall {scores.cfm_recall:.3f}  "
        f"(TP {tp}, FP {fp}, FN {fn})",
        "",
        f"  {'rule':26} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}",
    ]
    for rule, (tp, fp, fn) in sorted(scores.cfm_rules.items()):
        lines.append(
            f"  {rule:26} {tp:4d} {fp:4d} {fn:4d} {_ratio(tp, tp + fp):9.3f} "
            f"{_ratio(tp, tp + fn):7.3f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=sorted(ENGINES), default="wasm")
    parser.add_argument("--misses", action="store_true", help="list the records that miss, by id")
    args = parser.parse_args(argv)
    records = load()
    scores = evaluate(records, args.engine)
    print(report(scores, records, args.engine))
    if args.misses:
        print("\nmisses:")
        for miss in scores.misses:
            print(f"  {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

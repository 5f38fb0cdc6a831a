"""Summarise a py-spy raw (collapsed) profile of a qcluster tree recorded by
`bench/throughput.py --profile` (py-spy record --subprocesses --idle).

    .venv/bin/python bench/profile_report.py [bench/results/throughput-profile.txt] [--top 25]

Stacks are grouped by process role (pusher, worker, monitor, sentinel, main/supervisor), then
for each role the frames are counted inclusively (a frame counts once per sample it appears in)
and the top ones printed as a share of that role's samples. With --idle, waiting (select,
queue get, socket reads for the database's answer) is included, so shares are of wall time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

ROLE_MARKERS = (
    ("pusher", "push_claimed_tasks (workflows/jobs/runner/processes.py"),
    ("worker", "run_packages (workflows/jobs/runner/processes.py"),
    ("pusher", "pusher (django_q/pusher.py"),
    ("worker", "worker (django_q/worker.py"),
    ("monitor", "monitor (django_q/monitor.py"),
    ("sentinel", "Sentinel.guard"),
    ("main: supervisor thread", "Supervisor.run"),
    ("main: node loop", "NodeProcess.run"),
)
INTERESTING = re.compile(
    r"(workflows/jobs|django_q/|psycopg/|django/db|multiprocessing/(queues|connection)|"
    r"select|pickle|signing|json)"
)


def role_of(frames: list[str]) -> str:
    joined = ";".join(frames)
    for role, marker in ROLE_MARKERS:
        if marker in joined:
            return role
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="bench/results/throughput-profile.txt")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    totals: Counter[str] = Counter()
    frames_by_role: dict[str, Counter[str]] = defaultdict(Counter)
    leaf_by_role: dict[str, Counter[str]] = defaultdict(Counter)
    processes_by_role: dict[str, set[str]] = defaultdict(set)
    for line in Path(args.path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        procs = [f for f in frames if f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("process ")]
        role = role_of(frames)
        if procs:
            processes_by_role[role].add(procs[-1].split(":")[0])
        totals[role] += n
        seen = set()
        for frame in frames:
            name = re.sub(r":\d+\)$", ")", frame)  # merge line numbers
            if name in seen:
                continue
            seen.add(name)
            frames_by_role[role][name] += n
        if frames:
            leaf_by_role[role][re.sub(r":\d+\)$", ")", frames[-1])] += n

    for role, total in totals.most_common():
        procs = len(processes_by_role[role]) or 1
        print(f"\n=== {role}: {total} samples over {procs} process(es) ===")
        print("  inclusive (share of the role's samples):")
        shown = 0
        for frame, n in frames_by_role[role].most_common():
            if not INTERESTING.search(frame):
                continue
            print(f"    {100 * n / total:5.1f}%  {frame}")
            shown += 1
            if shown >= args.top:
                break
        print("  leaf frames (where the time is spent or waited):")
        for frame, n in leaf_by_role[role].most_common(8):
            print(f"    {100 * n / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()

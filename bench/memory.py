"""Memory of a whole `manage.py qcluster` process tree with default settings (all five queues at
their default limits, 4 worker processes, prefetch 12), idle and while draining no-op jobs.

    .venv/bin/python bench/memory.py [--jobs 10000] [--runs 3]

Figures per process and summed over the tree (main + sentinel + pusher + monitor + workers,
plus multiprocessing's helper processes if any), from psutil's memory_full_info():
- RSS: resident pages, shared ones counted in every process that maps them. Summing RSS over
  forked processes overstates the real footprint (copy-on-write pages of the parent are counted
  once per worker).
- PSS: each shared page divided among the processes sharing it. The sum of PSS over the tree is
  the tree's fair share of physical memory: THE figure this benchmark reports.
- USS: pages private to the process (what killing it would free).
Idle = 5 samples 1 s apart after the node has been ready for 5 s; draining = samples every 0.5 s
while --jobs no-op jobs drain (median and max of the tree sums). Medians over --runs runs.

Growth (issue 18: no growth over a million jobs):

    .venv/bin/python bench/memory.py --growth 1000000 [--chunk 100000]

one node drains --growth jobs inserted --chunk at a time (SQL generate_series; completed rows
deleted after each chunk, as the pruner would); the tree's PSS is sampled after each chunk once
the node is idle again. Growth = last sample - the sample after the first chunk.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import psutil

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common
from bench.common import JOBS_DB, fmt, median
from bench.throughput import cluster_roles, enqueue

MB = 1024 * 1024


def sample(cluster, roles) -> dict:
    per_role: dict[str, dict[str, float]] = {}
    total = {"rss": 0.0, "pss": 0.0, "uss": 0.0, "processes": 0}
    for proc in cluster.tree():
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        role = roles.get(proc.pid, "worker" if proc.pid not in roles else "other")
        slot = per_role.setdefault(role, {"rss": 0.0, "pss": 0.0, "uss": 0.0, "processes": 0})
        for key, value in (("rss", info.rss), ("pss", info.pss), ("uss", info.uss)):
            slot[key] += value / MB
            total[key] += value / MB
        slot["processes"] += 1
        total["processes"] += 1
    return {"total": total, "roles": per_role}


def one_run(n: int) -> dict:
    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)
    cluster = common.engine_cluster(JOBS_DB).start()  # default settings: no JOBS_* overrides
    env = common.base_env(JOBS_DB)
    try:
        cluster.wait_for_output(" ready:")
        time.sleep(5.0)
        roles = cluster_roles(cluster)
        idle = []
        for _ in range(5):
            idle.append(sample(cluster, roles))
            time.sleep(1.0)
        draining: list[dict] = []
        done = threading.Event()

        def sampler():
            while not done.is_set():
                draining.append(sample(cluster, roles))
                done.wait(0.5)

        thread = threading.Thread(target=sampler, daemon=True)
        with common.connect(JOBS_DB) as conn:
            thread.start()
            enqueue("engine", n, env)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                left = conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE state IN ('available', 'executing')"
                ).fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.25)
            done.set()
            thread.join()
            completed = conn.execute(
                "SELECT count(*) FROM jobs_job WHERE state = 'completed'"
            ).fetchone()[0]
        time.sleep(3.0)
        after = sample(cluster, roles)
    finally:
        cluster.stop()
    cluster.cleanup()
    return {
        "idle": idle,
        "draining": draining,
        "after": after,
        "completed": completed,
        "stopped_cleanly": cluster.stopped_cleanly,
    }


def growth_run(total: int, chunk: int) -> list[dict]:
    from bench.backlog import FILL

    with common.connect(JOBS_DB) as conn:
        common.reset_jobs_tables(conn)
    cluster = common.engine_cluster(JOBS_DB).start()
    samples = []
    try:
        cluster.wait_for_output(" ready:")
        time.sleep(5.0)
        roles = cluster_roles(cluster)
        samples.append({"jobs": 0, **sample(cluster, roles)["total"]})
        done = 0
        with common.connect(JOBS_DB) as conn:
            while done < total:
                n = min(chunk, total - done)
                conn.execute(FILL, {"state": "available", "n": n})
                deadline = time.monotonic() + 1800
                while conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE state IN ('available', 'executing')"
                ).fetchone()[0]:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"chunk of {n} not drained within 1800 s")
                    time.sleep(0.5)
                failed = conn.execute(
                    "SELECT count(*) FROM jobs_job WHERE state <> 'completed'"
                ).fetchone()[0]
                conn.execute("DELETE FROM jobs_job WHERE state = 'completed'")
                done += n
                time.sleep(2.0)
                samples.append(
                    {"jobs": done, "not_completed": failed, **sample(cluster, roles)["total"]}
                )
                print(
                    f"  after {done:,} jobs: tree PSS {samples[-1]['pss']:.1f} MB, USS "
                    f"{samples[-1]['uss']:.1f} MB ({samples[-1]['processes']} processes; "
                    f"not completed: {failed})",
                    flush=True,
                )
    finally:
        cluster.stop()
    cluster.cleanup()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--growth", type=int, default=0, help="jobs for the growth run")
    parser.add_argument("--chunk", type=int, default=100_000)
    args = parser.parse_args()

    info = common.machine()
    common.print_machine(info)
    common.migrate_jobs_database(JOBS_DB)
    if args.growth:
        samples = growth_run(args.growth, args.chunk)
        first, last = samples[1], samples[-1]
        print(
            f"\nPSS of the tree: idle before {samples[0]['pss']:.1f} MB, after the first chunk "
            f"{first['pss']:.1f} MB, after {last['jobs']:,} jobs {last['pss']:.1f} MB: growth "
            f"{last['pss'] - first['pss']:+.1f} MB (USS {last['uss'] - first['uss']:+.1f} MB)"
        )
        path = common.save(
            "memory-growth", {"machine": info, "args": vars(args), "samples": samples}
        )
        print(f"saved {path}")
        return

    runs = []
    for run in range(args.runs):
        r = one_run(args.jobs)
        runs.append(r)
        idle_pss = median([s["total"]["pss"] for s in r["idle"]])
        max_pss = max(s["total"]["pss"] for s in r["draining"])
        print(
            f"  run {run + 1}: idle PSS {idle_pss:.1f} MB, draining max PSS {max_pss:.1f} MB "
            f"({r['completed']} jobs completed)",
            flush=True,
        )

    def figure(pick, key):
        return median([pick(r, key) for r in runs])

    def idle_of(r, key):
        return median([s["total"][key] for s in r["idle"]])

    def drain_median(r, key):
        return median([s["total"][key] for s in r["draining"]])

    def drain_max(r, key):
        return max(s["total"][key] for s in r["draining"])

    def after_of(r, key):
        return r["after"]["total"][key]

    print()
    processes = int(median([r["idle"][0]["total"]["processes"] for r in runs]))
    print(
        f"qcluster process tree ({processes} processes), default settings, medians of "
        f"{args.runs} runs, MB:"
    )
    rows = []
    for label, pick in (
        ("idle", idle_of),
        ("draining (median)", drain_median),
        ("draining (max)", drain_max),
        ("idle after the drain", after_of),
    ):
        rows.append(
            [
                label,
                fmt(figure(pick, "pss"), 1),
                fmt(figure(pick, "uss"), 1),
                fmt(figure(pick, "rss"), 1),
            ]
        )
    print(common.table(["state", "PSS sum (reported)", "USS sum", "RSS sum (overcounts)"], rows))

    print("\nper process role, idle (first run, median of samples), MB:")
    role_rows = []
    first = runs[0]
    for role in sorted(first["idle"][0]["roles"]):
        values = [s["roles"].get(role) for s in first["idle"] if s["roles"].get(role)]
        drained = [s["roles"].get(role) for s in first["draining"] if s["roles"].get(role)]
        role_rows.append(
            [
                role,
                values[0]["processes"],
                fmt(median([v["pss"] for v in values]), 1),
                fmt(median([v["uss"] for v in values]), 1),
                fmt(median([v["rss"] for v in values]), 1),
                fmt(max(v["pss"] for v in drained), 1) if drained else "n/a",
            ]
        )
    print(common.table(["role", "processes", "PSS", "USS", "RSS", "PSS max draining"], role_rows))
    path = common.save(
        "memory",
        {
            "machine": info,
            "args": vars(args),
            "medians_mb": {
                label: {key: figure(pick, key) for key in ("pss", "uss", "rss")}
                for label, pick in (
                    ("idle", idle_of),
                    ("draining_median", drain_median),
                    ("draining_max", drain_max),
                    ("after", after_of),
                )
            },
            "roles_idle_first_run": first["idle"][len(first["idle"]) // 2]["roles"],
            "completed": [r["completed"] for r in runs],
        },
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()

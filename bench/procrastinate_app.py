"""The procrastinate (3.10) side of bench/throughput.py: an app on its own database
(bench_procrastinate) with its psycopg connector and an async no-op task.

Worker:  python -m bench.procrastinate_app CONCURRENCY
"""

from __future__ import annotations

import os
import sys

from procrastinate import App, PsycopgConnector

CONCURRENCY = int(os.environ.get("BENCH_PROCRASTINATE_CONCURRENCY", "4"))
CONNINFO = (
    f"host={os.environ.get('BENCH_PG_HOST', '127.0.0.1')} "
    f"port={os.environ.get('BENCH_PG_PORT', '5432')} "
    f"user={os.environ.get('BENCH_PG_USER', 'postgres')} "
    f"dbname={os.environ.get('BENCH_PROCRASTINATE_DB', 'bench_procrastinate')}"
)

app = App(
    connector=PsycopgConnector(
        conninfo=CONNINFO,
        # one connection per concurrent job plus the listener and the worker's own queries
        min_size=CONCURRENCY + 2,
        max_size=CONCURRENCY + 2,
    )
)


@app.task(name="noop", queue="default")
async def noop():
    return None


if __name__ == "__main__":
    concurrency = int(sys.argv[1]) if len(sys.argv) > 1 else CONCURRENCY
    print(f"procrastinate worker starting: concurrency {concurrency}", flush=True)
    app.run_worker(concurrency=concurrency, queues=["default"], install_signal_handlers=True)

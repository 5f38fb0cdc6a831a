"""The pgqueuer (1.6) side of bench/throughput.py, at the settings of pgqueuer's own benchmark
(tools/benchmark.py in its repository): five PgQueuer instances in one process, each with its
own connection, dequeuing batches of 10, on uvloop, with either driver (psycopg or asyncpg). The
job is an async no-op entrypoint "fetch", like the engine's NoopWorker.

    python -m bench.pgqueuer_app worker psy|apg [DEQUEUERS] [BATCH]
    python -m bench.pgqueuer_app enqueue psy|apg N     # prints {"insert_started", "committed"}
    python -m bench.pgqueuer_app install psy

The drain's end is read by the benchmark from pgqueuer's own log table (the newest
'successful' row), as the engine's is read from its completed_at column.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import uvloop
from pgqueuer import AsyncpgDriver, PgQueuer, PsycopgDriver, Queries
from pgqueuer.models import Job

DEQUEUERS = 5
BATCH_SIZE = 10
DSN = (
    f"postgresql://{os.environ.get('BENCH_PG_USER', 'postgres')}@"
    f"{os.environ.get('BENCH_PG_HOST', '127.0.0.1')}:{os.environ.get('BENCH_PG_PORT', '5432')}/"
    f"{os.environ.get('BENCH_PGQUEUER_DB', 'bench_pgqueuer')}"
)


async def connect(driver: str):
    if driver == "apg":
        import asyncpg

        return AsyncpgDriver(await asyncpg.connect(dsn=DSN))
    if driver == "psy":
        import psycopg

        return PsycopgDriver(await psycopg.AsyncConnection.connect(DSN, autocommit=True))
    raise SystemExit(f"unknown driver {driver!r}: use psy (psycopg) or apg (asyncpg)")


async def work(driver: str, dequeuers: int, batch_size: int) -> None:
    instances = []
    for _ in range(dequeuers):
        pgq = PgQueuer(await connect(driver))

        @pgq.entrypoint("fetch")
        async def fetch(job: Job) -> None:
            return None

        instances.append(pgq)

    def stop() -> None:
        for pgq in instances:
            pgq.shutdown.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    print(f"pgqueuer worker starting: {driver}, {dequeuers} x batch {batch_size}", flush=True)
    await asyncio.gather(*(pgq.run(batch_size=batch_size) for pgq in instances))


async def enqueue(driver: str, n: int) -> dict:
    queries = Queries(await connect(driver))
    started = time.time()
    await queries.enqueue(["fetch"] * n, [b""] * n, [0] * n)  # one statement, autocommit
    return {"insert_started": started, "committed": time.time()}


async def install(driver: str) -> None:
    await Queries(await connect(driver)).install()


def main(argv: list[str]) -> None:
    command, driver = argv[0], argv[1]
    if command == "worker":
        dequeuers = int(argv[2]) if len(argv) > 2 else DEQUEUERS
        batch_size = int(argv[3]) if len(argv) > 3 else BATCH_SIZE
        uvloop.run(work(driver, dequeuers, batch_size))
    elif command == "enqueue":
        print(json.dumps(uvloop.run(enqueue(driver, int(argv[2])))), flush=True)
    elif command == "install":
        uvloop.run(install(driver))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Shared plumbing of the benchmarks: databases, environments, cluster subprocesses, statistics,
machine facts and result files. Every benchmark runs against the PostgreSQL server on
127.0.0.1:5432 (BENCH_PG_HOST / BENCH_PG_PORT / BENCH_PG_USER override it) in databases of its
own (bench_jobs, bench_djangoq, bench_procrastinate, bench_pgbench)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(os.environ.get("BENCH_RESULTS", ROOT / "bench" / "results"))
PYTHON = sys.executable
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BENCH_PG_PORT", "5432")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
SECRET_KEY = "bench-secret-key-" + "x" * 44
# Another name lets two checkouts (bench/compare_revisions.py) benchmark side by side.
JOBS_DB = os.environ.get("BENCH_JOBS_DB", "bench_jobs")
DJANGOQ_DB = "bench_djangoq"
PROCRASTINATE_DB = "bench_procrastinate"
PGQUEUER_DB = "bench_pgqueuer"
PGBENCH_DB = "bench_pgbench"


def db_url(name: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def conninfo(name: str) -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={name}"


def connect(name: str, *, autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(conninfo(name), autocommit=autocommit)


def ensure_database(name: str) -> bool:
    """Create the database if missing; returns True when it was created."""
    with connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            return True
    return False


def base_env(database: str, settings: str = "healthcare_cms.settings", **extra: str) -> dict:
    """The environment of a benchmark subprocess: no developer .env, no patient data in logs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JOBS_", "Q_CLUSTER", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"))
    }
    env.update(
        {
            "ENV_FILE": "",
            "DJANGO_SETTINGS_MODULE": settings,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": db_url(database),
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SENTRY_DSN": "",
            "LOG_LEVEL": "WARNING",
            "QCLUSTER_LOG_LEVEL": "WARNING",
            "JOBS_WORKER_MODULES": "bench.workers",
            "JOBS_CRONTAB_OVERRIDE": "[]",  # no product cron jobs in benchmark clusters
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def migrate_jobs_database(database: str = JOBS_DB) -> None:
    """Create the database if needed and apply every migration (the engine's SQL functions
    come from migrations: a stale database would benchmark old code)."""
    ensure_database(database)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=base_env(database),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def setup_django(database: str = JOBS_DB, **extra: str) -> None:
    """Configure this process like a node of the engine against `database`, then django.setup()."""
    for key in list(os.environ):
        if key.startswith("JOBS_"):
            del os.environ[key]
    os.environ.update(base_env(database, **extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def reset_jobs_tables(conn) -> None:
    # CASCADE: the workflow edges (jobs_job_dep) reference jobs_job.
    conn.execute("TRUNCATE jobs_job RESTART IDENTITY CASCADE")
    conn.execute("DELETE FROM jobs_node")
    conn.execute("DELETE FROM jobs_queue")


# --- subprocesses -----------------------------------------------------------------------------
class Subprocess:
    """A cluster or worker subprocess in its own session; its output goes to a temp log."""

    def __init__(self, args: list[str], env: dict, *, label: str):
        self.args = args
        self.env = env
        self.label = label
        handle, self.log_path = tempfile.mkstemp(prefix=f"bench-{label}-", suffix=".log")
        os.close(handle)
        self.process: subprocess.Popen | None = None
        self.stop_seconds: float | None = None
        self.stopped_cleanly: bool | None = None

    def start(self) -> Subprocess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for_output(self, marker: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.label} exited early:\n{self.output()[-3000:]}")
            if marker in self.output():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.label}: no {marker!r} after {timeout} s")

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM to the main process only; records whether it stopped by itself in time."""
        if self.process is None:
            return
        started = time.monotonic()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
                self.stopped_cleanly = True
            except subprocess.TimeoutExpired:
                self.stopped_cleanly = False
        self.stop_seconds = time.monotonic() - started
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # leftovers of its own session only
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)


def engine_cluster(database: str = JOBS_DB, **env: str) -> Subprocess:
    return Subprocess(
        [PYTHON, "manage.py", "qcluster"], base_env(database, **env), label="engine-qcluster"
    )


# --- CPU accounting ---------------------------------------------------------------------------
class CpuMeter:
    """CPU seconds (user + system) used by processes while it runs, grouped by a label.
    Samples every `interval` s and keeps the last reading of each pid, so processes that are
    recycled during the measurement still count up to their last sample."""

    def __init__(self, classify, interval: float = 0.25):
        self.classify = classify  # psutil.Process -> label | None
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._label: dict[int, str] = {}
        self._stop = None
        self._thread = None

    def _sample(self) -> None:
        for proc in psutil.process_iter(["pid", "cmdline", "name"]):
            try:
                label = self.classify(proc)
                if label is None:
                    continue
                times = proc.cpu_times()
                value = times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            self._first.setdefault(proc.pid, value if self._started else 0.0)
            self._last[proc.pid] = value
            self._label[proc.pid] = label

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def __enter__(self):
        import threading

        self._busy_start = self._busy()
        self._wall_start = time.monotonic()
        self._started = True
        self._sample()
        self._started = False  # processes born later count from zero
        self._stop = threading.Event()

        def loop():
            while not self._stop.wait(self.interval):
                self._sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self.machine_busy = self._busy() - self._busy_start
        self.wall = time.monotonic() - self._wall_start

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, last in self._last.items():
            label = self._label[pid]
            out[label] = out.get(label, 0.0) + max(0.0, last - self._first.get(pid, 0.0))
        return out

    def foreign(self) -> float:
        """CPU seconds used on the machine by processes outside the measured ones (other
        people's tests, the benchmark's own poller): how disturbed the measurement was."""
        return max(0.0, self.machine_busy - sum(self.totals().values()))


def postgres_label(proc: psutil.Process, database: str) -> str | None:
    if proc.info.get("name") != "postgres":
        return None
    cmd = " ".join(proc.info.get("cmdline") or [])
    if f" {database} " in cmd:
        return "postgres backends"
    for word in ("walwriter", "checkpointer", "background writer", "autovacuum"):
        if word in cmd:
            return "postgres background (wal, checkpoint, vacuum)"
    return None


# --- statistics and output --------------------------------------------------------------------
def median(values):
    return statistics.median(values) if values else float("nan")


def percentile(values, fraction: float):
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    return "\n".join([line, sep, *body])


def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # nan
        return "n/a"
    return f"{value:,.{digits}f}"


def machine() -> dict:
    def run(*args):
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
            return out.rstrip().lstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""

    with connect("postgres") as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', "
                "'fsync', 'shared_buffers', 'max_connections')"
            ).fetchall()
        )
    return {
        "date": run("date"),
        "nproc": run("nproc"),
        "free_g": run("free", "-g"),
        "postgresql": version,
        "pg_settings": settings,
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
        "commit": run("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "engine_uncommitted_changes": run(
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--",
            "workflows/jobs",
            "healthcare_cms/settings.py",
        ),
    }


def print_machine(info: dict) -> None:
    print(f"date: {info['date']}")
    modified = " ".join(info["engine_uncommitted_changes"].split())
    modified = f" (engine files modified: {modified})" if modified else ""
    print(
        f"machine: nproc={info['nproc']}, PostgreSQL {info['postgresql']} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(info['pg_settings'].items()))}), "
        f"Python {info['python']}, git {info['commit']}{modified}, "
        f"load average at start {', '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}"
    )
    print(info["free_g"])


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    stamped = {"saved_at": dt.datetime.now(dt.UTC).isoformat(), **data}
    path.write_text(json.dumps(stamped, indent=2, default=str) + "\n")
    return path

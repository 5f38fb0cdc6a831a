"""Real `manage.py qcluster` subprocesses against the test database, for crash, shutdown and
concurrency tests. Each runs in its own process group so tests can signal the whole group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tests.support.polling import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    connection.ensure_connection()
    s = connection.settings_dict
    host, port = str(s.get("HOST") or ""), str(s.get("PORT") or "")
    user = quote(s.get("USER") or "postgres")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    name = s["NAME"]
    if host.startswith("/"):
        query = f"?host={host}" + (f"&port={port}" if port else "")
        return f"postgresql://{user}{password}@/{name}{query}"
    return f"postgresql://{user}{password}@{host or 'localhost'}:{port or 5432}/{name}"


class ClusterProcess:
    def __init__(
        self, *, concurrency: int = 2, queues: str = "", env: dict[str, str] | None = None
    ):
        handle, self.log_path = tempfile.mkstemp(prefix="qcluster-", suffix=".log")
        os.close(handle)
        self.env = {
            **os.environ,
            "DATABASE_URL": (env or {}).get("DATABASE_URL") or database_url(),
            "JOBS_WORKER_MODULES": "tests.support.workers",
            "JOBS_NODE_CONCURRENCY": str(concurrency),
            "JOBS_HEARTBEAT_INTERVAL_SECONDS": "1",
            "JOBS_SHUTDOWN_GRACE_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.args = [sys.executable, "manage.py", "qcluster"]
        if queues:
            self.args += ["--queues", queues]
        self.process: subprocess.Popen | None = None

    def start(self) -> ClusterProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> ClusterProcess:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"qcluster exited with {self.process.returncode}:\n{self.output()}"
                )
            return " ready:" in self.output()

        wait_until(ready, timeout=timeout, message="qcluster to be ready")
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int, *, group: bool = False) -> None:
        if group:
            os.killpg(os.getpgid(self.pid), signum)
        else:
            os.kill(self.pid, signum)

    def terminate(self, *, group: bool = False) -> None:
        self.signal(signal.SIGTERM, group=group)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def wait(self, timeout: float = 60.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Test teardown: stop gracefully, and make sure the whole tree is gone."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.terminate()
                self.process.wait(timeout=30)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

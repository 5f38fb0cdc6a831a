"""PostgreSQL servers of a test's own, from Debian's PostgreSQL 15 binaries: a primary, a
streaming standby made with pg_basebackup, promotion, hard stops, a low max_connections.

As root the servers run as `nobody` (PostgreSQL refuses root); their folders belong to it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.support.pgbouncer import free_port
from tests.support.polling import wait_until

BIN = Path("/usr/lib/postgresql/15/bin")
UNPRIVILEGED_USER = "nobody"


def available() -> bool:
    return (BIN / "initdb").exists() and (BIN / "pg_ctl").exists()


def _as_user() -> dict:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _run(*args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={**os.environ, "LC_ALL": "C.UTF-8"},
        **_as_user(),
    )
    if result.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")
    return result.stdout


class PgServer:
    """One server: `PgServer.primary(...)` or `primary.standby(...)`, then `.start()`."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.data = root / name
        self.port = free_port()
        self.log_path = root / f"{name}.log"

    @classmethod
    def primary(cls, *, max_connections: int = 100) -> PgServer:
        root = Path(tempfile.mkdtemp(prefix="pg-topology-"))
        os.chmod(root, 0o755)
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(root, user.pw_uid, user.pw_gid)
        server = cls(root, "primary")
        _run(BIN / "initdb", "-D", server.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        conf = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{root}'",
            f"max_connections = {max_connections}",
            "superuser_reserved_connections = 1",
            "wal_level = replica",
            "max_wal_senders = 4",
            "fsync = off",  # a test server: durability across OS crashes is not under test
            "full_page_writes = off",
            "shared_buffers = 32MB",
            "timezone = 'UTC'",
        ]
        with open(server.data / "postgresql.conf", "a") as handle:
            handle.write("\n".join(conf) + "\n")
        with open(server.data / "pg_hba.conf", "a") as handle:
            handle.write("host replication all 127.0.0.1/32 trust\n")
        return server

    def standby(self, name: str = "standby") -> PgServer:
        """A streaming standby of this (running) server, with application_name `name`."""
        standby = PgServer(self.root, name)
        _run(
            BIN / "pg_basebackup",
            "-D",
            standby.data,
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "-d",
            f"host=127.0.0.1 port={self.port} user=postgres application_name={name}",
        )
        with open(standby.data / "postgresql.conf", "a") as handle:
            handle.write(f"port = {standby.port}\n")
        return standby

    def start(self) -> PgServer:
        _run(
            BIN / "pg_ctl", "-D", self.data, "-l", self.log_path, "-o", f"-p {self.port}", "-w",
            "-t", "60", "start",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        _run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def promote(self) -> None:
        _run(BIN / "pg_ctl", "-D", self.data, "-w", "-t", "60", "promote")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def execute(self, statement: str, params=None, dbname: str = "postgres"):
        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    def require_synchronous(self, standby_name: str, timeout: float = 60) -> None:
        """From now on a commit returns once `standby_name` has it (set once it streams:
        before, every commit would wait for it)."""
        self.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{standby_name}'")
        self.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
        self.execute("SELECT pg_reload_conf()")
        wait_until(
            lambda: self.execute(
                "SELECT 1 FROM pg_stat_replication WHERE application_name = %s "
                "AND sync_state = 'sync'",
                [standby_name],
            ),
            timeout=timeout,
            message=f"{standby_name} to stream synchronously from the primary",
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def remove(*servers: PgServer) -> None:
    """Teardown: stop what still runs (immediately) and delete the folders."""
    for server in servers:
        if server.running():
            with contextlib.suppress(Exception):  # best effort at teardown
                server.stop("immediate")
    for root in {server.root for server in servers}:
        shutil.rmtree(root, ignore_errors=True)


def migrate(url: str) -> None:
    """The project's migrations and the topology tests' effect table on a fresh database."""
    from tests.support.clusters import PROJECT_ROOT

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )

"""A real PgBouncer (Debian's package) in transaction pooling mode, on a free port in front of
a PostgreSQL server, for the topology tests and the chaos soak.

PgBouncer refuses to run as root: as root it runs as `nobody`, its files owned by that user;
in front of a server reached by its Unix socket (the embedded PostgreSQL, whose socket folder
only its owner may enter) it runs as that folder's owner instead."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.polling import wait_until

BINARY_CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")
UNPRIVILEGED_USER = "nobody"


def binary() -> str | None:
    for candidate in BINARY_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("pgbouncer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _unprivileged_user(backend_host: str) -> pwd.struct_passwd:
    if backend_host.startswith("/"):
        owner = pwd.getpwuid(os.stat(backend_host).st_uid)
        if owner.pw_uid != 0:
            return owner
    return pwd.getpwnam(UNPRIVILEGED_USER)


class PgBouncer:
    """`PgBouncer(backend_port=5432).start()`; `.url(dbname)`; `.restart()`; `.stop()`."""

    def __init__(
        self,
        *,
        backend_host: str = "127.0.0.1",
        backend_port: int = 5432,
        pool_size: int = 20,
        max_client_conn: int = 400,
    ):
        self.port = free_port()
        self.pool_size = pool_size
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.log_path = self.folder / "pgbouncer.log"
        self.config_path = self.folder / "pgbouncer.ini"
        self.config_path.write_text(
            "[databases]\n"
            f"* = host={backend_host} port={backend_port} user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = any\n"
            "pool_mode = transaction\n"
            f"max_client_conn = {max_client_conn}\n"
            f"default_pool_size = {pool_size}\n"
            "server_login_retry = 1\n"
            "server_connect_timeout = 5\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
            f"logfile = {self.log_path}\n"
        )
        self.process: subprocess.Popen | None = None
        self._run_as = None
        if os.geteuid() == 0:
            user = _unprivileged_user(backend_host)
            self._run_as = user.pw_uid
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            for path in (self.config_path,):
                os.chown(path, user.pw_uid, user.pw_gid)

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self, timeout: float = 20.0) -> PgBouncer:
        found = binary()
        if found is None:
            raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
        self.process = subprocess.Popen(
            [found, str(self.config_path)],
            user=self._run_as,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def listening() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"pgbouncer exited: {self.log()}")
            return port_open(self.port)

        wait_until(listening, timeout=timeout, message="pgbouncer to listen")
        return self

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        """A hard restart: every client connection breaks, the port comes back."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

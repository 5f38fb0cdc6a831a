"""A real gunicorn serving the project (the production web: WhiteNoise for static files, DEBUG
off), and a request that needs the database (a failed sign-in: a user lookup and django-axes'
record of the attempt)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.support.clusters import PROJECT_ROOT
from tests.support.pgbouncer import free_port, port_open
from tests.support.polling import wait_until


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "topology-test-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "JOBS_WORKER_MODULES": "tests.support.workers,tests.support.topology_workers",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Gunicorn:
    def __init__(self, env: dict[str, str], *, workers: int = 2):
        sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
        import dev  # scripts/dev.py: the production web command is defined once, there

        self.port = free_port()
        handle, self.log_path = tempfile.mkstemp(prefix="gunicorn-", suffix=".log")
        os.close(handle)
        self.args = dev.gunicorn_command(
            f"127.0.0.1:{self.port}", workers=workers, python=sys.executable
        )
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Gunicorn:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            return port_open(self.port)

        wait_until(up, timeout=timeout, message="gunicorn to listen")
        return self

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)


def get(url: str, timeout: float = 10) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def failed_sign_in(base: str, timeout: float = 10) -> int:
    """GET the sign-in page, POST wrong credentials: 200 (the form again) needs the database;
    a 500 or a connection error means the web could not reach it."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        page = opener.open(f"{base}/admin/login/", timeout=timeout).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": "nobody@topology.test",
                "password": "not-the-password-1",
                "next": "/admin/",
            }
        ).encode()
        request = urllib.request.Request(
            f"{base}/admin/login/", data=data, headers={"Referer": f"{base}/admin/login/"}
        )
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, AttributeError):
        return 0

"""The README's run command: web admin and job cluster together, a login that works, and
Ctrl-C stopping both."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import psutil
import pytest

from tests.support.clusters import PROJECT_ROOT, database_url
from tests.support.polling import wait_until

PASSWORD = "run-command-test-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _log_in(base: str, email: str, password: str) -> str:
    """Sign in through the admin login form; return the URL the server sent us to."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(f"{base}/admin/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": email, "password": password, "next": "/admin/"}
    ).encode()
    request = urllib.request.Request(
        f"{base}/admin/login/", data=form, headers={"Referer": f"{base}/admin/login/"}
    )
    with opener.open(request, timeout=10) as response:
        return response.url


@pytest.mark.django_db(transaction=True)
def test_the_run_command_serves_the_admin_runs_a_cluster_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PORT": str(port),
        "DEMO_ADMIN_PASSWORD": PASSWORD,
        "DEBUG": "true",  # as in the development .env the set-up writes (plain-HTTP cookies)
        "JOBS_HEARTBEAT_INTERVAL_SECONDS": "1",
    }
    with open(log, "wb") as out:
        run = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: _status(f"{base}/admin/login/") == 200 and "ready: queues" in log.read_text(),
            timeout=120,
            message="the admin login page and a ready job cluster",
        )
        output = log.read_text()
        assert f"admin:  {base}/admin/" in output
        assert f"login:  admin@demo.local / {PASSWORD}" in output
        assert "DEBUG is on, so the password alone signs in" in output
        assert _log_in(base, "admin@demo.local", PASSWORD) == f"{base}/admin/"
        family = [run.pid, *(p.pid for p in psutil.Process(run.pid).children(recursive=True))]
        assert len(family) > 3, "dev.py, runserver and the qcluster tree"
    finally:
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        exit_code = run.wait(timeout=60)
    assert exit_code == 0, log.read_text()
    assert "[dev] stopped" in log.read_text()
    wait_until(
        lambda: (
            not any(
                psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                for pid in family
            )
        ),
        timeout=30,
        message="every process the run command started to be gone",
    )

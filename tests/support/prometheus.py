"""A real Prometheus (Debian's package) scraping test targets, asked over its HTTP API; and
a real web app process (`manage.py runserver`) serving /metrics."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from tests.support.clusters import PROJECT_ROOT
from tests.support.polling import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, *, token: str | None = None, timeout: float = 10.0) -> str:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


class Prometheus:
    def __init__(self, *, node_targets: list[str], web_target: str, web_token: str):
        self.dir = Path(tempfile.mkdtemp(prefix="prometheus-test-"))
        self.port = free_port()
        (self.dir / "token").write_text(web_token)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {"job_name": "jobs-nodes", "static_configs": [{"targets": node_targets}]},
                {
                    "job_name": "jobs-web",
                    "metrics_path": "/metrics",
                    "authorization": {"credentials_file": str(self.dir / "token")},
                    "static_configs": [{"targets": [web_target]}],
                },
            ],
        }
        # JSON is YAML: no YAML library needed.
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(json.dumps(config))
        self.process: subprocess.Popen | None = None
        self.log = self.dir / "prometheus.log"

    def check_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["promtool", "check", "config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> Prometheus:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{self.log.read_text()}")
            try:
                return "Ready" in http_get(f"http://127.0.0.1:{self.port}/-/ready", timeout=2)
            except OSError:
                return False

        wait_until(ready, timeout=60, message="prometheus to be ready")
        return self

    def query(self, promql: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": promql}
        )
        body = json.loads(http_get(url))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class WebApp:
    """`manage.py runserver` on a free port against the test database."""

    def __init__(self, *, env: dict[str, str]):
        self.port = free_port()
        self.env = env
        handle, self.log_path = tempfile.mkstemp(prefix="runserver-", suffix=".log")
        os.close(handle)
        self.process: subprocess.Popen | None = None

    def start(self) -> WebApp:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"runserver exited:\n{Path(self.log_path).read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False

        wait_until(up, timeout=60, message="the web app to listen")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

#!/usr/bin/env python3
"""One entry point for a fresh machine with Python >= 3.11 and nothing else.

    python3 scripts/dev.py run     # set up, migrate, demo data, web admin + job cluster
    python3 scripts/dev.py test    # set up, then the whole test suite (extra args go to pytest)
    python3 scripts/dev.py test-django6  # the Tasks backend's tests under Django 6 (.venv-django6)
    python3 scripts/dev.py setup   # only the set-up (virtualenv, install, .env)

Set-up is idempotent: a second run reinstalls only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".healthcare-cms-installed"
ENV_FILE = ROOT / ".env"
MIN_PYTHON = (3, 11)
STOP_TIMEOUT_SECONDS = 45


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*args: str, **kwargs) -> None:
    subprocess.run(args, check=True, cwd=ROOT, **kwargs)


def base_python() -> str:
    if sys.version_info >= MIN_PYTHON:
        return sys.executable
    for name in ("python3.13", "python3.12", "python3.11"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit(
        f"Python >= {'.'.join(map(str, MIN_PYTHON))} is required; this is {sys.version.split()[0]}."
    )


def ensure_venv() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        say("creating the virtualenv in .venv")
        run(base_python(), "-m", "venv", str(VENV))
    say("installing the project and its development tools (pip install -e '.[dev]')")
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(str(PYTHON), "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(digest)


def ensure_env_file() -> None:
    """A development .env: DEBUG on, a random secret key and demo admin password."""
    if ENV_FILE.exists():
        return
    say("writing a development .env (see .env.example for every setting)")
    ENV_FILE.write_text(
        "# Development settings written by scripts/dev.py.\n"
        "# Production uses real environment variables (see .env.example).\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"DEMO_ADMIN_PASSWORD={secrets.token_urlsafe(12)}\n"
        "EMAIL_URL=consolemail://\n"
    )


def ensure_chromium() -> None:
    """The admin's browser tests drive Debian's chromium; install it if this machine can."""
    if shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"], check=False, env=env
        )
    if not shutil.which("chromium"):
        say("chromium is not installed: browser tests will be skipped (apt-get install chromium)")


def ensure_prometheus() -> None:
    """The observability test scrapes real nodes with Debian's prometheus (and checks their
    expositions with its promtool); install it if this machine can."""
    if shutil.which("prometheus") and shutil.which("promtool"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's prometheus for the observability tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
            check=False,
            env=env,
        )
    if not shutil.which("prometheus"):
        say("prometheus is not installed: its tests will be skipped (apt-get install prometheus)")


def setup() -> None:
    ensure_venv()
    ensure_env_file()


def env_file_value(name: str) -> str:
    """A setting as Django sees it: the environment first, then the .env file."""
    if os.environ.get(name):
        return os.environ[name]
    for line in ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return ""


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def two_factor_note() -> str:
    """How the demo login signs in: the same rule as settings.ADMIN_REQUIRE_2FA."""
    asked = env_file_value("ADMIN_REQUIRE_2FA")
    required = _truthy(asked) if asked else not _truthy(env_file_value("DEBUG"))
    if required:
        return (
            "        two-factor sign-in is on: at the first sign-in the admin scans a QR code "
            "with an authenticator app"
        )
    return (
        "        DEBUG is on, so the password alone signs in (two-factor sign-in is optional; "
        "ADMIN_REQUIRE_2FA=true asks for it)"
    )


def manage(*args: str) -> list[str]:
    return [str(PYTHON), "manage.py", *args]


def embedded_running() -> bool:
    if os.environ.get("DATABASE_URL"):
        return True  # not ours to stop
    result = subprocess.run(manage("localdb", "status"), cwd=ROOT, capture_output=True, text=True)
    return "not running" not in result.stdout


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_system() -> int:
    setup()
    was_running = embedded_running()
    run(*manage("ensure_database"))
    run(*manage("migrate", "--noinput"))
    run(*manage("seed_demo"))
    port = os.environ.get("PORT", "8000")
    started = [
        subprocess.Popen(manage("qcluster"), cwd=ROOT, start_new_session=True),
        subprocess.Popen(
            manage("runserver", f"127.0.0.1:{port}", "--noreload"), cwd=ROOT, start_new_session=True
        ),
    ]
    say(f"admin:  http://127.0.0.1:{port}/admin/")
    say(f"login:  admin@demo.local / {env_file_value('DEMO_ADMIN_PASSWORD')}")
    say(two_factor_note())
    say("press Ctrl-C to stop the web server and the job cluster")
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping and all(process.poll() is None for process in started):
        time.sleep(0.2)
    say("stopping the web server and the job cluster")
    stop(started)
    if not was_running:
        subprocess.run(manage("localdb", "stop"), cwd=ROOT, check=False)
    say("stopped")
    return 0 if stopping else 1


def run_tests(args: list[str]) -> int:
    setup()
    ensure_chromium()
    ensure_prometheus()
    if not args:  # the whole suite: the dependency contracts first (docs/architecture.md)
        say("checking the import contracts (lint-imports)")
        contracts = subprocess.call([str(VENV / "bin" / "lint-imports")], cwd=ROOT)
        if contracts != 0:
            return contracts
    status = subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)
    if not args:  # then the Tasks backend's tests under Django 6 (scripts/django6.py)
        import django6

        status = status or django6.run_tests()
    return status


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "setup":
        setup()
        return 0
    if command == "run":
        return run_system()
    if command == "test":
        return run_tests(argv[1:])
    if command == "test-django6":
        import django6

        return django6.run_tests(argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

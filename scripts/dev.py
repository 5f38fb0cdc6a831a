#!/usr/bin/env python3
"""One entry point for a fresh machine with Python >= 3.11 and nothing else.

    python3 scripts/dev.py run     # set up, migrate, demo data, web admin + job cluster
    python3 scripts/dev.py run --production   # gunicorn + WhiteNoise, DEBUG off, PgBouncer,
                                              # two job nodes (needs DATABASE_URL, pgbouncer)
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


_APT_UPDATED = False


def apt_install(packages: list[str], purpose: str, installed, *, recommends: bool = True) -> None:
    """Install Debian packages the tests use, when they are missing and this machine can
    (root with apt-get); otherwise say which tests will be skipped."""
    global _APT_UPDATED
    if installed():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing Debian's {' '.join(packages)} for {purpose}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not _APT_UPDATED:
            subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
            _APT_UPDATED = True
        subprocess.run(
            [
                "apt-get",
                "install",
                "-y",
                "-q",
                *([] if recommends else ["--no-install-recommends"]),
                *packages,
            ],
            check=False,
            env=env,
        )
    if not installed():
        say(
            f"{packages[0]} is not installed: {purpose} will be skipped "
            f"(apt-get install {' '.join(packages)})"
        )


def ensure_chromium() -> None:
    """The admin's browser tests drive Debian's chromium."""
    apt_install(
        ["chromium", "chromium-driver"], "the browser tests", lambda: shutil.which("chromium")
    )


def ensure_prometheus() -> None:
    """The observability test scrapes real nodes with Debian's prometheus (and checks their
    expositions with its promtool)."""
    apt_install(
        ["prometheus"],
        "the observability tests",
        lambda: shutil.which("prometheus") and shutil.which("promtool"),
        recommends=False,
    )


def ensure_pgbouncer() -> None:
    """The topology tests and `run --production` use Debian's pgbouncer."""
    apt_install(["pgbouncer"], "the PgBouncer tests", pgbouncer_binary)


def pgbouncer_binary() -> str | None:
    for candidate in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("pgbouncer")


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


def wait_for_stop_request(started: list[subprocess.Popen]) -> bool:
    """Wait for Ctrl-C/SIGTERM (True) or for one of the processes to exit by itself (False)."""
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping and all(process.poll() is None for process in started):
        time.sleep(0.2)
    return stopping


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
    stopping = wait_for_stop_request(started)
    say("stopping the web server and the job cluster")
    stop(started)
    if not was_running:
        subprocess.run(manage("localdb", "stop"), cwd=ROOT, check=False)
    say("stopped")
    return 0 if stopping else 1


def gunicorn_command(bind: str, *, workers: int = 2, python: str | None = None) -> list[str]:
    """The production web server: gunicorn (WhiteNoise in the middleware serves /static/)."""
    return [
        python or str(PYTHON), "-m", "gunicorn", "healthcare_cms.wsgi:application",
        "--bind", bind, "--workers", str(workers), "--timeout", "30",
        "--graceful-timeout", "20", "--access-logfile", "-",
    ]  # fmt: skip


def start_pgbouncer(direct_url: str, port: int) -> tuple[subprocess.Popen, str]:
    """Debian's pgbouncer in transaction pooling mode in front of `direct_url`'s server, on
    `port`; as root it runs as `nobody` (it refuses root). Returns (process, pooled URL)."""
    import pwd
    import tempfile
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(direct_url)
    user = unquote(parts.username or "postgres")
    password = f" password={unquote(parts.password)}" if parts.password else ""
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={parts.hostname} port={parts.port or 5432} user={user}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\nmax_client_conn = 500\n"
        "default_pool_size = 20\nserver_login_retry = 1\n"
        "log_connections = 0\nlog_disconnections = 0\n"
    )
    run_as = None
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        run_as = nobody.pw_uid
        for path in (folder, config):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    process = subprocess.Popen(
        [pgbouncer_binary(), str(config)], user=run_as, start_new_session=True
    )
    pooled = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()
    return process, pooled


def run_production() -> int:
    """The production topology on one machine: PgBouncer (transaction pooling) in front of
    DATABASE_URL, gunicorn with WhiteNoise and DEBUG off, two job nodes (docs/operations.md)."""
    setup()
    ensure_pgbouncer()
    direct = os.environ.get("DATABASE_URL") or env_file_value("DATABASE_URL")
    if not direct or "," in direct or not pgbouncer_binary():
        say("run --production needs DATABASE_URL=postgresql://USER@HOST:PORT/DB and pgbouncer")
        return 2
    port = os.environ.get("PORT", "8000")
    bouncer_port = int(os.environ.get("PGBOUNCER_PORT", "6432"))
    base = {**os.environ, "DATABASE_URL": direct, "DEBUG": "false"}
    base.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    # Plain HTTP on this machine; behind a TLS proxy set these (and BEHIND_TLS_PROXY) on.
    base.setdefault("SECURE_SSL_REDIRECT", "false")
    base.setdefault("SECURE_COOKIES", "false")
    run(*manage("ensure_database"), env=base)
    run(*manage("migrate", "--noinput"), env=base)
    run(*manage("collectstatic", "--noinput", "--verbosity", "0"), env=base)
    bouncer, pooled = start_pgbouncer(direct, bouncer_port)
    env = {
        **base,
        "DATABASE_URL": pooled,
        "DATABASE_TRANSACTION_POOLING": "true",
        "JOBS_LISTEN_DATABASE_URL": direct,
    }
    started = [
        bouncer,
        subprocess.Popen(
            gunicorn_command(f"127.0.0.1:{port}"), cwd=ROOT, env=env, start_new_session=True
        ),
        subprocess.Popen(manage("qcluster"), cwd=ROOT, env=env, start_new_session=True),
        subprocess.Popen(manage("qcluster"), cwd=ROOT, env=env, start_new_session=True),
    ]
    say(f"admin:  http://127.0.0.1:{port}/admin/ (gunicorn, DEBUG off, through PgBouncer)")
    say("press Ctrl-C to stop")
    stopping = wait_for_stop_request(started)
    stop(started[1:])
    stop(started[:1])
    return 0 if stopping else 1


def run_tests(args: list[str]) -> int:
    setup()
    ensure_chromium()
    ensure_prometheus()
    ensure_pgbouncer()
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
        return run_production() if "--production" in argv[1:] else run_system()
    if command == "test":
        return run_tests(argv[1:])
    if command == "test-django6":
        import django6

        return django6.run_tests(argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

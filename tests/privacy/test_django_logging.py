"""Django's own loggers go through the mask (issue 11, defect 10): a real runserver with DEBUG
on, asked for URLs holding a CPF and an e-mail, prints neither."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from healthcare_cms.privacy.identifiers import cpf_generate
from tests.support.clusters import PROJECT_ROOT, database_url
from tests.support.polling import wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PRINT_UNMASKED = """
import json, django
django.setup()
import django.core.servers.basehttp, django.core.handlers.base, django.db.backends.utils
import django_q.conf, workflows.jobs.execution.attempt
from healthcare_cms.privacy.logging import unmasked_handlers
print(json.dumps(unmasked_handlers()))
"""


@pytest.mark.parametrize("debug", ["true", "false"])
def test_every_handler_of_every_logger_masks_patient_data(debug):
    """In a fresh process (pytest adds its own capture handlers to this one), with the real
    settings: Django's, django-q2's and the engine's loggers are all set up by then."""
    env = {**os.environ, "DEBUG": debug, "DJANGO_SETTINGS_MODULE": "healthcare_cms.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_UNMASKED],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_system_check_reports_a_handler_without_the_mask_or_a_logger_with_none():
    from healthcare_cms.privacy.checks import check_logging_masks_patient_data

    unmasked = logging.getLogger("tests.privacy.unmasked")
    handler = logging.StreamHandler()
    unmasked.addHandler(handler)
    nowhere = logging.getLogger("tests.privacy.nowhere")
    nowhere.propagate = False
    try:
        errors = check_logging_masks_patient_data()
        assert {error.id for error in errors} == {"privacy.E001"}
        messages = " ".join(error.msg for error in errors)
        assert "logger 'tests.privacy.unmasked': handler <StreamHandler" in messages
        assert "logger 'tests.privacy.nowhere': no handler" in messages
    finally:
        unmasked.removeHandler(handler)
        nowhere.propagate = True


def test_manage_py_check_passes_with_the_project_logging():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "privacy.E001" not in result.stdout + result.stderr


@pytest.fixture
def runserver(transactional_db):
    """`manage.py runserver` with DEBUG on, on a free port; yields (base url, its output)."""
    port = _free_port()
    handle, log_path = tempfile.mkstemp(prefix="runserver-", suffix=".log")
    os.close(handle)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    output = lambda: Path(log_path).read_text(errors="replace")  # noqa: E731
    base = f"http://127.0.0.1:{port}"

    def serving():
        if process.poll() is not None:
            raise AssertionError(f"runserver exited: {output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(serving, timeout=60, message="runserver listening")
        yield base, output
    finally:
        process.terminate()
        process.wait(timeout=20)
        Path(log_path).unlink(missing_ok=True)


def _get(url: str) -> int:
    request = urllib.request.Request(url)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_runserver_access_log_and_404_lines_hold_no_cpf_or_email(runserver):
    base, output = runserver
    cpf = cpf_generate(formatted=False)
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    assert _get(f"{base}/some-404/{cpf}/") == 404
    assert _get(f"{base}/some-404/{formatted}/") == 404
    assert _get(f"{base}/admin/?email=x@y.com") == 302
    assert _get(f"{base}/admin/?email=maria%40example.com") == 302

    logged = wait_until(
        lambda: output() if output().count('"GET ') >= 4 and "Not Found" in output() else "",
        timeout=30,
        message="the four access-log lines and the 404 warning",
    )
    assert "Not Found: /some-404/[CPF]/" in logged
    assert '"GET /admin/?email=[EMAIL] HTTP/1.1" 302' in logged
    for secret in (cpf, formatted, "x@y.com", "maria%40example.com", "maria@example.com"):
        assert secret not in logged

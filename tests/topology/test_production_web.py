"""The production web: a real gunicorn, DEBUG off, static files served by WhiteNoise from
collectstatic's folder, the admin's pages and a database-backed request through PgBouncer."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import pytest

from tests.support.clusters import PROJECT_ROOT
from tests.support.web import Gunicorn, failed_sign_in, get, production_env
from tests.topology.conftest import pooled_env

pytestmark = [pytest.mark.cluster]


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_admin_and_its_static_files_through_pgbouncer(pgbouncer):
    static_root = tempfile.mkdtemp(prefix="static-")
    env = production_env("", **{**pooled_env(pgbouncer), "STATIC_ROOT": static_root})
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    web = Gunicorn(env).start()
    try:
        status, body, _ = get(f"{web.base}/admin/login/")
        assert status == 200 and b"csrfmiddlewaretoken" in body
        status, body, headers = get(f"{web.base}/static/admin/css/base.css")
        assert status == 200 and b"body" in body
        assert "max-age" in headers.get("Cache-Control", ""), "WhiteNoise serves it"
        status, _, _ = get(f"{web.base}/static/admin/css/no-such-file.css")
        assert status == 404
        assert failed_sign_in(web.base) == 200, web.output()
        assert "Traceback" not in web.output()
    finally:
        web.stop()

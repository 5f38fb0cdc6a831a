"""`manage.py ensure_database`: the run command's first step on a server without the database."""

import os
import secrets
import subprocess

import psycopg
import pytest
from django.db import connection

from tests.support.clusters import database_url
from tests.support.commands import manage_py


def manage(*args: str, url: str) -> subprocess.CompletedProcess:
    return manage_py(*args, env={**os.environ, "DATABASE_URL": url})


@pytest.fixture
def new_database_url(db):
    name = f"hcms_new_{secrets.token_hex(4)}"
    url = database_url().replace(f"/{connection.settings_dict['NAME']}", f"/{name}", 1)
    params = {**connection.get_connection_params(), "dbname": "postgres"}
    yield name, url
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def database_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_a_missing_database_is_created_once_and_then_migrates(new_database_url):
    name, url = new_database_url
    assert not database_exists(name)

    first = manage("ensure_database", url=url)
    assert first.returncode == 0, first.stderr
    assert f"database '{name}' created" in first.stdout
    assert database_exists(name)

    second = manage("ensure_database", url=url)
    assert f"database '{name}' already exists" in second.stdout
    migrated = manage("migrate", "--noinput", url=url)
    assert migrated.returncode == 0, migrated.stderr


def test_an_unreachable_server_gives_a_clear_error_without_a_traceback():
    result = manage("ensure_database", url="postgresql://postgres@127.0.0.1:1/hcms_nowhere")
    assert result.returncode == 1
    assert "Cannot reach the PostgreSQL server to create database 'hcms_nowhere'" in result.stderr
    assert "Check DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr

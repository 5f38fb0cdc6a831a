"""Migrations are history: each carries its own copy of the SQL it installed, and the
functions and triggers a migrated database has are exactly the current source
(workflows/jobs/store/schema.sql). An edit of the source without a new migration fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction

from workflows.jobs.store import sql

MIGRATIONS = Path(__file__).resolve().parents[2] / "workflows" / "jobs" / "migrations"

FUNCTIONS = """
SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       pg_get_functiondef(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema() AND p.proname LIKE 'jobs\\_%'
"""
TRIGGERS = """
SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
 WHERE t.tgrelid = 'jobs_job'::regclass AND NOT t.tgisinternal
"""


def _installed() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
        found = dict(cursor.fetchall())
        cursor.execute(TRIGGERS)
        found.update(dict(cursor.fetchall()))
    return found


def _as_if_installed(source: str) -> dict[str, str]:
    """What the database would hold with `source` applied over the migrated schema (rolled
    back afterwards)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(source)
        found = _installed()
        transaction.set_rollback(True)
    return found


@pytest.mark.django_db
def test_the_migrated_functions_and_triggers_are_the_current_source():
    migrated = _installed()
    current = _as_if_installed(sql.schema_source())
    assert migrated.keys() == current.keys(), "a function or trigger was added or removed"
    changed = sorted(name for name in current if migrated[name] != current[name])
    assert not changed, (
        f"schema.sql differs from what the migrations install for {changed}: add a migration "
        f"with a frozen copy of the new schema.sql"
    )


@pytest.mark.django_db
def test_the_comparison_notices_an_edit_of_the_source():
    edited = sql.schema_source().replace(
        "UPDATE jobs_job SET state = 'executing', attempt = attempt + 1",
        "UPDATE jobs_job SET state = 'executing', attempt = attempt + 2",
    )
    assert edited != sql.schema_source()
    assert _as_if_installed(edited) != _installed()


def test_no_migration_runs_live_engine_code():
    """A migration that imported the engine's SQL module would install whatever it says
    today on a fresh database, not what it installed when it was written."""
    for path in sorted(MIGRATIONS.glob("0*.py")):
        tree = ast.parse(path.read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        engine = sorted(name for name in imported if name.startswith("workflows"))
        assert not engine, f"{path.name} imports {engine}: copy the SQL into the migration"


def test_the_constants_the_python_side_uses_are_the_ones_in_the_source():
    source = sql.schema_source()
    assert f"pg_notify('{sql.NOTIFY_CHANNEL}'" in source
    assert f"pg_try_advisory_xact_lock({sql.LOCK_NAMESPACE}," in source

"""Query plans for tests: EXPLAIN output, and the plans of the statements run inside functions
and triggers (auto_explain's nested statements, collected from the session's notices)."""

import json

from django.db import connection


def explain_plan(cursor):
    value = cursor.fetchone()[0]
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def nested_plans(cursor, statements: list[tuple[str, list]]) -> list[dict]:
    """The plans of these statements and of every statement inside the functions they call."""
    raw = connection.connection
    notices: list[str] = []

    def collect(diagnostic) -> None:
        notices.append(diagnostic.message_primary or "")

    raw.add_notice_handler(collect)
    cursor.execute("LOAD 'auto_explain'")
    for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_format = json"):
        cursor.execute(f"SET LOCAL auto_explain.{setting}")
    cursor.execute("SET LOCAL client_min_messages = log")
    cursor.execute("SET LOCAL log_min_messages = panic")
    try:
        for statement, params in statements:
            cursor.execute(statement, params)
    finally:
        cursor.execute("SET LOCAL auto_explain.log_min_duration = -1")
        raw.remove_notice_handler(collect)
    return [
        json.loads(text)["Plan"]
        for notice in notices
        for _, marker, text in [notice.partition("plan:")]
        if marker
    ]

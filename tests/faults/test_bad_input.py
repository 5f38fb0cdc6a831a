"""Generated bad input for new / insert / insert_all: each call either inserts a valid job or
raises a clear error, and the database holds nothing half-written."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.workers import RecordingWorker
from workflows.jobs import Job, JobValidationError, insert, insert_all

pytestmark = pytest.mark.django_db

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
anything = st.recursive(
    st.one_of(
        json_scalars,
        st.binary(max_size=5),
        st.sets(st.integers(), max_size=2),
        st.tuples(st.integers()),
        st.datetimes(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), children, max_size=3),
    ),
    max_leaves=8,
)
args_strategy = st.one_of(
    st.dictionaries(st.text(max_size=10), anything, max_size=4),
    anything,
)
options_strategy = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.one_of(st.integers(min_value=-3, max_value=12), st.booleans(), st.floats()),
        "max_attempts": st.one_of(st.integers(min_value=-2, max_value=1200), st.text(max_size=3)),
        "queue": st.one_of(
            st.sampled_from(["default", "email", "emial", "", "DEFAULT"]), st.text(max_size=5)
        ),
        "scheduled_at": st.one_of(
            st.datetimes(min_value=datetime(2000, 1, 1)),
            st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
        ),
        "schedule_in": st.one_of(st.integers(min_value=-5, max_value=10**9), st.floats()),
        "tags": st.one_of(
            st.lists(st.text(max_size=12), max_size=3),
            st.text(max_size=3),
            st.lists(st.integers(), max_size=2),
        ),
        "meta": st.one_of(
            st.dictionaries(st.text(max_size=5), json_scalars, max_size=2),
            st.lists(st.integers(), max_size=2),
        ),
    },
)


def _is_valid_json_object(value) -> bool:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return isinstance(value, dict) and json.loads(text) == value


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_job")
        return cursor.fetchone()[0]


def _check_stored(saved, args, options):
    stored = Job.objects.get(pk=saved.pk)
    expected = {} if args is None else args  # new() without args means an empty object
    assert stored.args == expected and _is_valid_json_object(stored.args)
    assert 0 <= stored.priority <= 9 and stored.max_attempts >= 1
    assert stored.queue in ("default", "email")
    assert stored.state in ("available", "scheduled")
    if "priority" in options:
        assert stored.priority == options["priority"]


HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(args=args_strategy, options=options_strategy)
def test_insert_either_stores_a_valid_job_or_refuses_cleanly(args, options):
    before = _rows()
    with transaction.atomic():
        try:
            saved = insert(RecordingWorker.new(args, **options))
        except JobValidationError as error:
            assert str(error) and len(str(error)) < 400
            assert _rows() == before, "nothing written"
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # the caller's transaction is intact
            return
        assert _rows() == before + 1
        _check_stored(saved, args, options)
        transaction.set_rollback(True)


@HYPOTHESIS
@given(batch=st.lists(st.tuples(args_strategy, options_strategy), min_size=1, max_size=5))
def test_insert_all_inserts_every_job_or_none(batch):
    before = _rows()
    with transaction.atomic():
        try:
            saved = insert_all([RecordingWorker.new(args, **options) for args, options in batch])
        except JobValidationError:
            assert _rows() == before
            return
        assert _rows() == before + len(batch)
        for job, (args, options) in zip(saved, batch, strict=True):
            _check_stored(job, args, options)
        transaction.set_rollback(True)


def test_the_generators_do_produce_both_outcomes():
    """Guard against a strategy that only ever fails (or only ever passes) validation."""
    assert _is_valid_json_object({"a": [1, 2.5, None, "x"]})
    assert not _is_valid_json_object({"a": math.nan})
    assert not _is_valid_json_object({"a": (1,)})
    RecordingWorker.new({"ok": True}, schedule_in=timedelta(seconds=5))

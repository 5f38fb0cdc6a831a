"""Each search key finds the jobs it names and nothing else (on the real database)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.support.workers import FailingWorker, RecordingWorker
from workflows.jobs.dashboard.search import SearchError, parse_search
from workflows.jobs.dashboard.selectors import jobs_search
from workflows.jobs.models import Job

pytestmark = pytest.mark.django_db


def _found(text: str, *, may_search_data: bool = True) -> set[int]:
    return set(
        jobs_search(parse_search(text), may_search_data=may_search_data).values_list(
            "id", flat=True
        )
    )


@pytest.fixture
def jobs():
    recording = RecordingWorker.enqueue(
        {"post_id": 7, "patient": {"city": "Recife"}}, tags=["nightly", "a"], priority=2
    )
    failing = FailingWorker.enqueue({"post_id": "8"}, meta={"source": "cron"}, queue="default")
    later = RecordingWorker.enqueue({"post_id": 9}, schedule_in=3600, tags=["b"], priority=5)
    Job.objects.filter(pk=failing.pk).update(
        state="discarded", discarded_at=timezone.now(), attempted_by=["node-a", "x"]
    )
    Job.objects.filter(pk=recording.pk).update(state="executing", attempted_by=["node-b", "y"])
    return {"recording": recording.pk, "failing": failing.pk, "later": later.pk}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker:RecordingWorker", {"recording", "later"}),
        ("worker:tests.support.workers.FailingWorker", {"failing"}),
        ("worker:Recording", set()),  # worker: names a worker exactly; free text searches
        ("Recording", {"recording", "later"}),
        ("failingworker", {"failing"}),
        ("queue:default", {"recording", "failing", "later"}),
        ("queue:email", set()),
        ("state:discarded", {"failing"}),
        ("state:scheduled,executing", {"recording", "later"}),
        ("tags:nightly", {"recording"}),
        ("tags:b,nightly", {"recording", "later"}),
        ("node:node-a", {"failing"}),
        ("priority:5", {"later"}),
        ("priority:0", {"failing"}),
        ("args.post_id:7", {"recording"}),
        ("args.post_id:8", {"failing"}),  # a string "8" in args matches the text 8 too
        ("args.patient.city:Recife", {"recording"}),
        ("args.patient.city:Olinda", set()),
        ("meta.source:cron", {"failing"}),
        ("state:scheduled worker:RecordingWorker", {"later"}),
    ],
)
def test_each_key_finds_what_it_names_and_nothing_else(jobs, text, expected):
    assert _found(text) == {jobs[name] for name in expected}


def test_id_takes_a_comma_list(jobs):
    assert _found(f"id:{jobs['failing']},{jobs['later']}") == {jobs["failing"], jobs["later"]}


def test_args_and_meta_search_needs_the_permission_to_view_args(jobs):
    for text in ("args.post_id:7", "meta.source:cron"):
        with pytest.raises(SearchError, match="needs the permission to view job args"):
            _found(text, may_search_data=False)
    assert _found("state:discarded", may_search_data=False) == {jobs["failing"]}

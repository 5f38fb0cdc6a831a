"""Workers of the workflow tests, importable by real qcluster subprocesses
(JOBS_WORKER_MODULES=tests.support.workers,tests.support.workflow_workers)."""

from __future__ import annotations

import time

from tests.support.workers import record
from workflows.jobs import Cancel, Discard, Worker


class StepWorker(Worker):
    """Records its start (own connection) and its effect (in the attempt's transaction);
    sleeps args['sleep']; ends as args['outcome'] says: None, 'discard', 'cancel'."""

    queue = "default"
    max_attempts = 3

    def backoff(self, job):
        return 0

    def perform(self, job):
        record("start", job, payload=job.args.get("step", ""))
        if job.args.get("sleep"):
            time.sleep(job.args["sleep"])
        outcome = job.args.get("outcome")
        if outcome == "discard":
            return Discard(f"step {job.args.get('step')} refused its input")
        if outcome == "cancel":
            return Cancel(f"step {job.args.get('step')} found nothing to do")
        record("done", job, payload=job.args.get("step", ""))
        return None


class ResultStepWorker(Worker):
    """Returns a value derived from its step and its deps' recorded results (record = True)."""

    queue = "default"
    record = True

    def perform(self, job):
        upstream = job.dep_results()
        return {"step": job.args["step"], "saw": [[k, v] for k, v in sorted(upstream.items())]}

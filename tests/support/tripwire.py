"""Importing this module is a bug: only a job row names it, and the engine must never import the
dotted path a row gives (tests/jobs/test_outcomes.py checks it stays out of sys.modules)."""

from workflows.jobs import Worker


class Tripwire(Worker):
    def perform(self, job):
        raise AssertionError("a worker path from a job row was imported and run")

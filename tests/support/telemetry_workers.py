"""Workers of the observability tests, importable by real qcluster subprocesses
(JOBS_WORKER_MODULES=tests.support.telemetry_workers). Synthetic patient data only."""

from __future__ import annotations

import os

from workflows.jobs import Cancel, Discard, Snooze, Worker

# Synthetic, valid-checksum identifiers (healthcare_cms.privacy.identifiers) and a made-up name.
PATIENT_CPF = "526.018.159-06"
PATIENT_CNS = "183016613180008"
PATIENT_NAME = "Maria Aparecida Souza"
PATIENT_ARGS = {"patient_name": PATIENT_NAME, "cpf": PATIENT_CPF, "cns": PATIENT_CNS}


class OkWorker(Worker):
    queue = "default"

    def perform(self, job):
        return None


class PatientFailureWorker(Worker):
    """Fails with patient data in its message; args hold patient data too."""

    max_attempts = 2

    def perform(self, job):
        raise ValueError(
            f"could not send to patient {PATIENT_NAME} (CPF {PATIENT_CPF}, CNS {PATIENT_CNS})"
        )

    def backoff(self, job):
        return 0


class OutcomeWorker(Worker):
    """args['outcome']: what perform does (complete, fail, discard, cancel, snooze)."""

    max_attempts = 3

    def perform(self, job):
        wanted = job.args.get("outcome")
        if wanted == "fail":
            raise RuntimeError("failed on purpose")
        if wanted == "discard":
            return Discard("not wanted")
        if wanted == "cancel":
            return Cancel("no longer needed")
        if wanted == "snooze" and job.meta.get("snoozed", 0) < 1:
            return Snooze(0)
        return None

    def backoff(self, job):
        return 17


def _witness_finished(sender, job, outcome, **kwargs):
    """In a cluster's worker processes: each job_finished as a row of test_executions, written
    on the process's own autocommit connection (the outcome is committed by then)."""
    from tests.support.workers import INSERT_EXECUTION, _witness_connection

    values = [job.pk, f"finished:{outcome}", job.attempt, os.getpid(), job.queue, ""]
    _witness_connection().execute(INSERT_EXECUTION, values)


def _broken_receiver(sender, **kwargs):
    raise RuntimeError(f"a receiver bug quoting {PATIENT_CPF}")


if os.environ.get("TELEMETRY_TEST_RECEIVERS") == "1":
    from workflows.jobs import signals

    signals.job_started.connect(_broken_receiver, weak=False)
    signals.job_finished.connect(_broken_receiver, weak=False)
    signals.job_finished.connect(_witness_finished, weak=False)

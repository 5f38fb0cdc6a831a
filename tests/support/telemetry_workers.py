"""Workers of the observability tests, importable by real qcluster subprocesses
(JOBS_WORKER_MODULES=tests.support.telemetry_workers). Synthetic patient data only."""

from __future__ import annotations

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

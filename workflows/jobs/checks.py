"""System checks: configuration errors stop start-up with a message that says the fix."""

from __future__ import annotations

import difflib

from django.conf import settings
from django.core import checks

from workflows.jobs.conf import jobs_settings
from workflows.jobs.node.cron import CrontabError, entry_problems, parse_entry
from workflows.jobs.policy.errors import JobValidationError
from workflows.jobs.policy.limits import partition_from, rate_limit_from

BROKER = "workflows.jobs.runner.broker.JobsBroker"


@checks.register()
def check_jobs_configuration(app_configs=None, **kwargs):
    errors = []
    conf = jobs_settings()
    if not conf.queues:
        errors.append(checks.Error("JOBS['queues'] defines no queue.", id="jobs.E001"))
    for name, options in conf.queues.items():
        limit = options.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            errors.append(
                checks.Error(
                    f"queue '{name}' has limit {limit!r}; a limit must be a whole number >= 1.",
                    hint="Set JOBS_QUEUES=name=limit,... in the environment.",
                    id="jobs.E002",
                )
            )
        for key, parse, variable in (
            ("rate_limit", rate_limit_from, "JOBS_RATE_LIMITS"),
            ("partition", partition_from, "JOBS_PARTITIONS"),
        ):
            try:
                parse(options.get(key))
            except JobValidationError as exc:
                errors.append(
                    checks.Error(
                        f"queue '{name}' has {key} {options.get(key)!r}: {exc}",
                        hint=f"Set {variable} in the environment (see .env.example).",
                        id="jobs.E010",
                    )
                )
    for raw in conf.crontab:
        try:
            entry = parse_entry(raw)
        except CrontabError as exc:
            errors.append(checks.Error(str(exc), id="jobs.E003"))
            continue
        for problem in entry_problems(entry):
            errors.append(checks.Error(problem, id="jobs.E004"))
        queue = entry.options.get("queue")
        if queue is not None and queue not in conf.queues:
            close = difflib.get_close_matches(str(queue), conf.queue_names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"defined: {', '.join(conf.queues)}"
            errors.append(
                checks.Error(
                    f"crontab entry for {entry.worker} names unknown queue '{queue}'; {hint}",
                    id="jobs.E005",
                )
            )
    if conf.testing not in (None, "manual", "inline"):
        errors.append(
            checks.Error(
                f"JOBS['testing'] is {conf.testing!r}; use 'manual', 'inline' or None.",
                id="jobs.E006",
            )
        )
    broker = getattr(settings, "Q_CLUSTER", {}).get("broker_class")
    if broker != BROKER:
        errors.append(
            checks.Error(
                f"Q_CLUSTER['broker_class'] must be '{BROKER}' so that qcluster executes "
                f"the jobs table; "
                f"it is {broker!r}.",
                id="jobs.E007",
            )
        )
    from workflows.jobs.api.worker import registered_workers

    for path, worker in sorted(registered_workers().items()):
        if worker.queue not in conf.queues:
            errors.append(
                checks.Error(
                    f"worker {path} uses queue '{worker.queue}', "
                    f"which JOBS['queues'] does not define.",
                    hint=f"defined: {', '.join(conf.queues)}",
                    id="jobs.E009",
                )
            )
    if conf.node_concurrency < 1:
        errors.append(checks.Error("JOBS_NODE_CONCURRENCY must be >= 1.", id="jobs.E008"))
    return errors

"""`manage.py jobs`: operate the job engine from a shell or a script.

    jobs status                      queues (limit, paused, counts) and nodes (heartbeats)
    jobs pause QUEUE | resume QUEUE
    jobs scale QUEUE [LIMIT] [--rate ALLOWED/SECONDS|none] [--partition KEY[+KEY]:LIMIT|none]
    jobs retry ID... | jobs retry --discarded [--queue Q] [--worker W]
    jobs cancel ID... | jobs cancel --queue Q [--worker W]   (unfinished jobs)
    jobs prune                       delete finished jobs past their age now
    jobs dead [--queue Q] [--worker W] [--limit N]           dead letters with their last error
    jobs sync                        create the queues and cron schedules from settings

Exit status: 0 on success, 1 when an argument is wrong or a named job does not exist.
"""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workflows.jobs.api import services
from workflows.jobs.api.queues import (
    pause_queue,
    queues_overview,
    resume_queue,
    scale_queue,
    sync_queues,
)
from workflows.jobs.api.selectors import jobs_matching
from workflows.jobs.conf import jobs_settings
from workflows.jobs.models import Job, Node
from workflows.jobs.policy.errors import JobsError
from workflows.jobs.policy.limits import parse_partition, parse_rate_limit
from workflows.jobs.policy.states import UNFINISHED_STATES
from workflows.jobs.runner.schedules import sync_schedules

MAX_DEAD_LETTERS_LISTED = 10_000
# Who changed a queue, as the queue_changed signal says (workflows.jobs.signals).
COMMAND = "manage.py jobs"


def _dead_letter_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit takes a whole number; got {text!r}") from None
    if not 1 <= value <= MAX_DEAD_LETTERS_LISTED:
        raise argparse.ArgumentTypeError(
            f"--limit must be from 1 to {MAX_DEAD_LETTERS_LISTED}; got {value}"
        )
    return value


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers, *[[str(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _rate_use(queue: dict) -> str:
    rate = queue["rate_limit"]
    if rate is None:
        return "-"
    return f"{queue['rate_used']}/{rate.allowed} per {rate.period_seconds}s"


def _partition_use(queue: dict) -> str:
    partition = queue["partition"]
    if partition is None:
        return "-"
    return (
        f"{partition}: {queue['busiest']}/{partition.limit}, "
        f"{queue['partitions_running']} running, {queue['partitions_waiting']} waiting"
    )


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("status", help="queues and nodes")
        for name in ("pause", "resume"):
            actions.add_parser(name, help=f"{name} a queue on every node").add_argument("queue")
        scale = actions.add_parser(
            "scale", help="change a queue's cluster-wide limit, rate limit or partition"
        )
        scale.add_argument("queue")
        scale.add_argument("limit", type=int, nargs="?")
        scale.add_argument(
            "--rate", help="ALLOWED/PERIOD_SECONDS (10/1: 10 jobs a second), or none to remove"
        )
        scale.add_argument(
            "--partition",
            help="args keys joined by + ('worker' for the worker) and the limit per partition "
            "(author_id:2), or none to remove",
        )
        retry = actions.add_parser("retry", help="put jobs back to available")
        retry.add_argument("ids", nargs="*", type=int)
        retry.add_argument("--discarded", action="store_true", help="every dead letter (filtered)")
        retry.add_argument("--queue")
        retry.add_argument("--worker")
        cancel = actions.add_parser("cancel", help="cancel unfinished jobs")
        cancel.add_argument("ids", nargs="*", type=int)
        cancel.add_argument("--queue")
        cancel.add_argument("--worker")
        actions.add_parser("prune", help="delete finished jobs past their age now")
        dead = actions.add_parser("dead", help="list dead letters")
        dead.add_argument("--queue")
        dead.add_argument("--worker")
        dead.add_argument("--limit", type=_dead_letter_limit, default=50)
        actions.add_parser("sync", help="create queues and cron schedules from settings")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except (JobsError, ValueError) as exc:
            raise CommandError(str(exc).strip("'\"")) from None

    # --- actions ---------------------------------------------------------------------------
    def do_status(self, **options) -> None:
        rows = [
            [
                q["name"],
                q["limit"],
                "retired" if q["retired"] else ("yes" if q["paused"] else "no"),
                q["running"],
                q["available"],
                q["scheduled"],
                q["retryable"],
                q["discarded"],
                _rate_use(q),
                _partition_use(q),
            ]
            for q in queues_overview()
        ]
        self.stdout.write(
            _table(
                [
                    "queue",
                    "limit",
                    "paused",
                    "running",
                    "available",
                    "scheduled",
                    "retryable",
                    "discarded",
                    "rate (used/allowed per period)",
                    "partition (busiest/limit, running, waiting)",
                ],
                rows,
            )
        )
        now = timezone.now()
        dead_after = jobs_settings().node_dead_after_seconds
        nodes = []
        for node in Node.objects.order_by("name"):
            age = (now - node.heartbeat_at).total_seconds()
            state = "stopping" if node.stopping else ("alive" if age <= dead_after else "dead")
            nodes.append([node.name, node.concurrency, f"{age:.0f}s ago", state])
        self.stdout.write("")
        self.stdout.write(
            _table(["node", "workers", "heartbeat", "state"], nodes) if nodes else "no nodes"
        )

    def do_pause(self, queue: str, **options) -> None:
        pause_queue(queue, by=COMMAND)
        self.stdout.write(f"paused {queue}")

    def do_resume(self, queue: str, **options) -> None:
        resume_queue(queue, by=COMMAND)
        self.stdout.write(f"resumed {queue}")

    def do_scale(self, queue: str, limit: int | None, rate, partition, **options) -> None:
        changes: dict = {}
        if rate is not None:
            changes["rate_limit"] = parse_rate_limit(rate)
        if partition is not None:
            changes["partition"] = parse_partition(partition)
        if limit is None and not changes:
            raise CommandError("give a LIMIT, --rate or --partition")
        scale_queue(queue, limit, **changes, by=COMMAND)
        done = [f"limit {limit}"] if limit is not None else []
        for name, value in changes.items():
            done.append(f"{name.replace('_', ' ')} {value or 'none'}")
        self.stdout.write(f"scaled {queue}: {', '.join(done)}")

    def _check_ids_exist(self, ids: list[int]) -> None:
        missing = sorted(
            set(ids) - set(Job.objects.filter(pk__in=ids).values_list("pk", flat=True))
        )
        if missing:
            raise CommandError(f"no job with id {', '.join(map(str, missing))}")

    def _filtered(self, *, states, queue, worker):
        return jobs_matching(
            state=states, queue=queue or None, worker=worker or None, by_class_name=True
        )

    def do_retry(self, ids: list[int], discarded: bool, queue, worker, **options) -> None:
        if ids and discarded:
            raise CommandError("give job ids or --discarded, not both")
        if ids:
            self._check_ids_exist(ids)
            count = services.jobs_retry(ids=ids)
        elif discarded:
            count = services.jobs_retry(
                queryset=self._filtered(states=["discarded"], queue=queue, worker=worker)
            )
        else:
            raise CommandError(
                "give job ids, or --discarded (with --queue/--worker) for dead letters"
            )
        self.stdout.write(f"retried {count} job(s)")

    def do_cancel(self, ids: list[int], queue, worker, **options) -> None:
        if ids and (queue or worker):
            raise CommandError("give job ids or --queue/--worker, not both")
        if ids:
            self._check_ids_exist(ids)
            count = services.jobs_cancel(ids=ids)
        elif queue or worker:
            count = services.jobs_cancel(
                queryset=self._filtered(states=UNFINISHED_STATES, queue=queue, worker=worker)
            )
        else:
            raise CommandError("give job ids, or --queue/--worker to cancel their unfinished jobs")
        self.stdout.write(f"cancelled {count} job(s)")

    def do_prune(self, **options) -> None:
        report = services.jobs_prune()
        detail = ", ".join(f"{state} {count}" for state, count in report.deleted.items())
        self.stdout.write(f"pruned {report.total} job(s) ({detail}) in {report.batches} batch(es)")

    def do_dead(self, queue, worker, limit: int, **options) -> None:
        jobs = self._filtered(states=["discarded"], queue=queue, worker=worker)
        rows = []
        for job in jobs.order_by("-discarded_at")[:limit]:
            rows.append(
                [
                    job.pk,
                    job.worker_name,
                    job.queue,
                    f"{job.attempt}/{job.max_attempts}",
                    job.discarded_at.strftime("%Y-%m-%d %H:%M:%S"),
                    job.last_error_line[:100],
                ]
            )
        if not rows:
            self.stdout.write("no dead letters")
            return
        self.stdout.write(
            _table(["id", "worker", "queue", "attempts", "discarded (UTC)", "last error"], rows)
        )

    def do_sync(self, **options) -> None:
        queues = sync_queues()
        schedules = sync_schedules()
        self.stdout.write(f"synced {len(queues)} queue(s) and {schedules} cron schedule(s)")

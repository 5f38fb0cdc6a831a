"""`manage.py qcluster`: run a node of the job engine (django-q2's cluster over the jobs table)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from workflows.jobs.policy.errors import JobsError


class Command(BaseCommand):
    help = "Run a job-engine node: django-q2 worker processes executing the jobs table's queues."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            default="",
            help="Comma-separated queues this node serves (default: every queue in settings).",
        )

    def handle(self, *args, **options):
        from workflows.jobs.runner.cluster import run_node

        queues = [name.strip() for name in options["queues"].split(",") if name.strip()]
        try:
            status = run_node(queues=queues or None, out=self.stdout)
        except JobsError as exc:
            raise CommandError(str(exc)) from None
        sys.exit(status)

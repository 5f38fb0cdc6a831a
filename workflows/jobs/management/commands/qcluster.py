"""`manage.py qcluster`: run a node of the job engine (django-q2's cluster over the jobs table)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a job-engine node: django-q2 worker processes executing the jobs table's queues."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            default="",
            help="Comma-separated queues this node serves (default: every queue in settings).",
        )

    def handle(self, *args, **options):
        from workflows.jobs.node import NodeProcess

        queues = [name.strip() for name in options["queues"].split(",") if name.strip()]
        try:
            node = NodeProcess(queues=queues or None, out=self.stdout)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        sys.exit(node.run())

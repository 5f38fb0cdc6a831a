"""`manage.py retention [--dry-run]`: apply the retention policies, or list what would change."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from compliance.retention import retention_plan, retention_run


class Command(BaseCommand):
    help = "Apply the retention policies now; --dry-run lists what a run would change."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="change nothing; list the rows each policy would act on",
        )

    def handle(self, *args, dry_run: bool, **options):
        if dry_run:
            for plan in retention_plan():
                sample = ", ".join(map(str, plan.sample_ids)) or "-"
                self.stdout.write(
                    f"{plan.policy}: {plan.due} row(s) before {plan.cutoff:%Y-%m-%d %H:%M} UTC "
                    f"would change (first ids: {sample})"
                )
            self.stdout.write("dry run: nothing was changed")
            return
        run = retention_run()
        for policy, count in sorted(run.counts.items()):
            self.stdout.write(f"{policy}: {count} row(s) changed")
        self.stdout.write(f"{run.batches} batch(es); longest {run.longest_batch_ms} ms")

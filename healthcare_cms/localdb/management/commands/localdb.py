"""`manage.py localdb status|start|stop`: the embedded PostgreSQL.."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from healthcare_cms.localdb import server


class Command(BaseCommand):
    help = "Show, start or stop the project's embedded PostgreSQL server."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "start", "stop"])

    def handle(self, *args, action: str, **options):
        try:
            if action == "start":
                address = server.ensure_running()
                self.stdout.write(f"running: {server.data_dir()} (socket {address.socket_dir})")
            elif action == "stop":
                stopped = server.stop()
                self.stdout.write("stopped" if stopped else "was not running")
            else:
                address = server.running_address()
                state = f"running (socket {address.socket_dir})" if address else "not running"
                self.stdout.write(f"{server.data_dir()}: {state}")
        except server.EmbeddedDatabaseError as exc:
            raise CommandError(str(exc)) from None

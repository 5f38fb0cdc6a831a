"""`manage.py access_unlock`: lift a sign-in lockout now (an account, a client address, or
all), instead of waiting for LOGIN_LOCKOUT_COOLOFF_SECONDS; the unlock is audited."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from healthcare_cms.accounts.throttling import lockout_lift, lockouts_current


class Command(BaseCommand):
    help = "Lift sign-in lockouts: --email for an account, --address for a client, or --all."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", help="the account's e-mail address")
        parser.add_argument("--address", help="the client's IP address, e.g. 203.0.113.7")
        parser.add_argument("--all", action="store_true", help="every lockout")
        parser.add_argument("--list", action="store_true", help="only list the current lockouts")

    def handle(self, *args, email=None, address=None, all=False, list=False, **options):
        if list:
            for attempt in lockouts_current():
                self.stdout.write(
                    f"{attempt.attempt_time:%Y-%m-%d %H:%M:%S} UTC  {attempt.username or '-'}  "
                    f"{attempt.ip_address}  {attempt.failures_since_start} failures"
                )
            return
        if not (email or address or all):
            raise CommandError("Say whose lockout to lift: --email ADDRESS, --address IP or --all.")
        try:
            removed = lockout_lift(
                actor="system:access_unlock", email=email, address=address, everything=all
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"lifted: {removed} failed-attempt record(s) removed")

"""`manage.py seed_demo`: create the demo data set and print the admin login."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from healthcare_cms.demo.data import seed_demo


class Command(BaseCommand):
    help = "Create demo users, consents and posts (synthetic data), idempotently."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if len(password) < 12:
            raise CommandError(
                "DEMO_ADMIN_PASSWORD must be set to at least 12 characters "
                "(scripts/dev.py setup writes one into .env)."
            )
        summary = seed_demo(admin_password=password)
        self.stdout.write(
            f"demo data ready: {summary.created_users} new user(s), {summary.created_posts} new "
            f"post(s); admin login {summary.admin_email}"
        )

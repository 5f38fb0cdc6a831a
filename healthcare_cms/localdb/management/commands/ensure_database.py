"""`manage.py ensure_database`: create the project database on its server unless it exists."""

from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from healthcare_cms.localdb.provision import create_database_if_missing


class Command(BaseCommand):
    help = (
        "Create the database named by DATABASE_URL (or the embedded server's) unless it "
        "exists; `scripts/dev.py run` calls it before migrating."
    )

    def handle(self, *args, **options):
        params = connection.get_connection_params()
        name = params["dbname"]
        try:
            created = create_database_if_missing(params)
        except psycopg.OperationalError as exc:
            raise CommandError(
                f"Cannot reach the PostgreSQL server to create database '{name}': "
                f"{str(exc).strip()}. Check DATABASE_URL and that the server is running."
            ) from None
        self.stdout.write(f"database '{name}' {'created' if created else 'already exists'}")

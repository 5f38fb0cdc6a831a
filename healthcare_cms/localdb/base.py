"""Django database backend: PostgreSQL, with the embedded server started on first connection."""

from __future__ import annotations

import contextlib

from django.db.backends.postgresql import base as postgresql
from psycopg import sql

from healthcare_cms.localdb import server


class DatabaseWrapper(postgresql.DatabaseWrapper):
    """The stock PostgreSQL backend, pointed at the embedded server when it is first needed."""

    def get_connection_params(self):
        address = server.ensure_running()
        self.settings_dict["HOST"] = address.socket_dir
        self.settings_dict["PORT"] = str(address.port)
        self.settings_dict["USER"] = address.user
        params = super().get_connection_params()
        return params

    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except postgresql.Database.OperationalError as exc:
            if "does not exist" not in str(exc) or conn_params.get("dbname") == "postgres":
                raise
            self._create_database(conn_params)
            return super().get_new_connection(conn_params)

    def _create_database(self, conn_params) -> None:
        """The project database is created on first use, like the server itself."""
        name = conn_params["dbname"]
        admin_params = {**conn_params, "dbname": "postgres"}
        with postgresql.Database.connect(**admin_params, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            # Another process may create it first: that is as good.
            if not exists:
                with contextlib.suppress(postgresql.Database.errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

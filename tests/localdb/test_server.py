"""The embedded PostgreSQL: a broken data folder gives an error that says how to recover."""

import os

import pytest

from healthcare_cms.localdb import server
from tests.support.commands import manage_py


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    folder = tmp_path / "pgdata"
    monkeypatch.setenv("EMBEDDED_PG_DATA", str(folder))
    return folder


def test_a_half_initialised_folder_is_refused_with_recovery_steps(data_folder):
    data_folder.mkdir()
    (data_folder / "base").mkdir()
    (data_folder / "postgresql.conf").write_text("# initdb was interrupted\n")
    with pytest.raises(server.EmbeddedDatabaseError) as raised:
        server.ensure_running()
    message = str(raised.value)
    assert "half-initialised" in message and f"rm -rf {data_folder}" in message
    assert "DATABASE_URL" in message


def test_a_damaged_folder_is_refused_with_recovery_steps(data_folder):
    data_folder.mkdir()
    (data_folder / "PG_VERSION").write_text("18\n")
    with pytest.raises(server.EmbeddedDatabaseError, match="damaged"):
        server.ensure_running()


def test_a_file_in_place_of_the_folder_is_refused(data_folder):
    data_folder.write_text("oops")
    with pytest.raises(server.EmbeddedDatabaseError, match="is a file"):
        server.ensure_running()


def test_nothing_runs_in_an_empty_folder(data_folder):
    assert server.running_address() is None
    assert server.stop() is False


def test_the_first_process_starts_the_server_and_the_next_ones_reuse_it(tmp_path):
    """Every process of the project shares one embedded server: the first to need it starts
    it; later ones find it running and connect to the same one."""
    folder = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EMBEDDED_PG_DATA"] = str(folder)

    def manage(*args: str) -> str:
        result = manage_py(*args, env=env, timeout=180)
        assert result.returncode == 0, result.stderr
        return result.stdout

    try:
        assert "not running" in manage("localdb", "status")
        assert "created" in manage("ensure_database")  # first use: starts the server
        postmaster = (folder / "postmaster.pid").read_text().split()[0]
        running = manage("localdb", "status")
        assert "running (socket" in running
        assert "already exists" in manage("ensure_database")  # another process: same server
        assert (folder / "postmaster.pid").read_text().split()[0] == postmaster
        assert manage("localdb", "status") == running
    finally:
        manage("localdb", "stop")
    assert not (folder / "postmaster.pid").exists()

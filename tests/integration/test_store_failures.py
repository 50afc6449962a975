"""A database that cannot be used is one line and exit status 2 from every command that
reads or writes it, whatever the driver raised: a PostgreSQL server that refuses the
connection, a SQLite file in a directory that does not exist, a file that is no database."""

from pathlib import Path

import pytest

from tests.support.cli import run_cli

REFUSED = "postgresql+psycopg://cf:S3cretPw@127.0.0.1:1/complaints"
COMMANDS = {
    "report": ["report"],
    "timeline": ["timeline", "C-1"],
    "db upgrade": ["db", "upgrade"],
    "run": ["run", "--bootstrap-servers", "127.0.0.1:1"],
    "demo": ["demo", "--complaints", "5"],
}


def one_line(command: str, url: str) -> str:
    done = run_cli(*COMMANDS[command], "--database-url", url, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_server_that_refuses_the_connection(command: str) -> None:
    assert one_line(command, REFUSED) == (
        "complaintflow: database unreachable: connection failed: connection to server at "
        '"127.0.0.1", port 1 failed: Connection refused\n'
    )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_sqlite_file_in_a_missing_directory(command: str, tmp_path: Path) -> None:
    file = tmp_path / "no-such-dir" / "store.db"
    url = f"sqlite:///{file}"
    creates = command in ("db upgrade", "demo")
    expected = f"no such directory {file.parent}" if creates else f"no such SQLite file {file}"
    assert one_line(command, url) == f"complaintflow: database URL {url!r}: {expected}\n"
    assert not file.parent.exists()


@pytest.mark.parametrize("command", ["report", "timeline", "db upgrade", "run"])
def test_a_file_that_is_no_database(command: str, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_text("not a database, not at all, " * 10)
    assert one_line(command, f"sqlite:///{garbage}") == (
        "complaintflow: database error: file is not a database\n"
    )

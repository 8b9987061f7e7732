"""Refusals end in one line and a non-zero exit, never a traceback.

A user without a privilege (on a private server, with exactly the grant
docs/privileges.md gives each entry point, and again without its last
privilege), a query killed while it streams (KILL QUERY, 1317), a local file
request the client refuses (2068), and credentials that are not UTF-8.
"""

from __future__ import annotations

import os
import re
from itertools import count, islice

import pytest
from conftest import ROOT, admin_query, load, run_script

import seed
from tests.support import private_server
from tests.support.helpers import one_line_error
from tests.support.private_server import MySQLExecutor, query

stream = load("0-stream_users")

LEAST = "least"  # the private server's least-privilege user
LEAST_PASSWORD = "least-privilege"  # a throwaway server's test user
ROW = re.compile(r"^\| `(?P<command>[^`]+)` \| `(?P<grant>[^`]+)` \|$", re.MULTILINE)
GRANTS = [
    (match["command"], [privilege.strip() for privilege in match["grant"].split(",")])
    for match in ROW.finditer((ROOT / "docs" / "privileges.md").read_text(encoding="utf-8"))
]
ARGUMENTS = {
    "python3 -m prodev.produce": ["-m", "prodev.produce", "--rate", "50", "--for", "0.2"],
}
NOT_UTF8 = b"caf\xe9"  # Latin-1 bytes, as a shell in another locale may export them
STREAM_ROWS = 200_000  # far more than the socket buffers hold, so the query is still running

private_mariadb = private_server.private_mariadb()
databases = count()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> MySQLExecutor:
    """This module's private server, with the least-privilege user (no grant yet)."""
    private_server.require_mariadb()
    server = request.getfixturevalue("private_mariadb")
    for host in ("localhost", "127.0.0.1"):
        query(server, f"CREATE USER '{LEAST}'@'{host}' IDENTIFIED BY %s", (LEAST_PASSWORD,))
    return server


def settings(server: MySQLExecutor, database: str, user: str) -> dict[str, str]:
    return {
        **os.environ,
        "DB_ENGINE": "mysql",
        "MYSQL_HOST": server.host,
        "MYSQL_PORT": str(server.port),
        "MYSQL_HOSTS": "",
        "MYSQL_USER": user,
        "MYSQL_PASSWORD": LEAST_PASSWORD if user == LEAST else "",
        "MYSQL_DATABASE": database,
    }


def prepared(server: MySQLExecutor, command: str) -> str:
    """A fresh database, seeded by root unless the command seeds it, with the log set
    up if the command removes it; returns its name."""
    database = f"privileges_{next(databases)}"
    root = settings(server, database, "root")
    if command != "./seed.py":
        assert run_script("seed.py", env=root).returncode == 0
    if command.endswith("follow remove"):
        setup = run_script("-c", "from prodev import follow; follow.now()", env=root)
        assert setup.returncode == 0, setup.stderr
    return database


def run_as_least(server: MySQLExecutor, command: str, grant: list[str]) -> tuple[int, str]:
    database = prepared(server, command)
    for host in ("localhost", "127.0.0.1"):
        query(server, f"GRANT {', '.join(grant)} ON {database}.* TO '{LEAST}'@'{host}'")
    words = command.split()
    args = ARGUMENTS.get(command, words[1:] if words[0] == "python3" else [words[0][2:]])
    result = run_script(*args, env=settings(server, database, LEAST))
    return result.returncode, result.stderr


def test_the_privileges_doc_lists_every_entry_point() -> None:
    commands = [command for command, _ in GRANTS]
    lessons = {f"./{path.name}" for path in ROOT.glob("[0-9]-*.py") if "main" not in path.name}
    assert lessons <= set(commands)
    assert {"./seed.py", "python3 main.py", "python3 -m prodev.follow remove"} <= set(commands)


@pytest.mark.parametrize(("command", "grant"), GRANTS, ids=[command for command, _ in GRANTS])
def test_each_entry_point_runs_with_the_documented_grant(
    server: MySQLExecutor, command: str, grant: list[str]
) -> None:
    returncode, stderr = run_as_least(server, command, grant)

    assert returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("command", "grant"), GRANTS, ids=[command for command, _ in GRANTS])
def test_without_its_last_privilege_an_entry_point_names_it_in_one_line(
    server: MySQLExecutor, command: str, grant: list[str]
) -> None:
    *rest, missing = grant
    # SHOW VIEW: some privilege on the database, so the refusal is the missing one's.
    returncode, stderr = run_as_least(server, command, rest or ["SHOW VIEW"])

    assert returncode != 0
    line = one_line_error_text(stderr)
    assert f"user '{LEAST}' lacks the {missing} privilege on database privileges_" in line, line
    assert line.endswith("docs/privileges.md lists the grant each script needs"), line
    assert LEAST_PASSWORD not in stderr


def one_line_error_text(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("notice:")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


# ------------------------------------------------------------ the shared server


@pytest.fixture
def large_table(empty_table: dict[str, str]) -> dict[str, str]:
    """user_data with STREAM_ROWS generated users (MariaDB's sequence engine)."""
    admin_query(
        "INSERT INTO user_data (user_id, name, email, age) "
        "SELECT UUID(), CONCAT('User ', seq), CONCAT('user', seq, '@example.com'), 18 + seq % 80 "
        f"FROM seq_1_to_{STREAM_ROWS}"
    )
    return empty_table


def streaming_session() -> int:
    """The id of the session that is sending user_data to this process."""
    (session,) = admin_query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
        "AND INFO LIKE 'SELECT user_id, name, email, age FROM user_data%%'"
    )[0]
    return session


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
@pytest.mark.parametrize("use_pure", ["0", "1"], ids=["fast", "public"])
def test_a_query_killed_while_it_streams_is_one_line(
    engine: str, large_table: dict[str, str], use_pure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSQL_USE_PURE", use_pure)
    users = stream.stream_users()
    assert len(list(islice(users, 10))) == 10  # the query is running, the rest unsent

    admin_query("KILL QUERY %s", (streaming_session(),))
    with pytest.raises(seed.SetupError) as refused:
        for _ in users:
            pass

    assert not isinstance(refused.value, seed.ConnectionLost), "the session is still there"
    assert "interrupted the query (KILL QUERY" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
@pytest.mark.parametrize("use_pure", ["0", "1"], ids=["fast", "public"])
def test_a_refused_local_file_request_is_one_line(
    engine: str, empty_table: dict[str, str], use_pure: str
) -> None:
    # The server asks for a file (as a rogue one would); the client offers
    # none outside a load's own folder, so it refuses.
    code = (
        "import seed\n"
        "with seed.prodev_connection() as connection:\n"
        "    connection.cursor().execute(\n"
        "        \"LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE user_data\")\n"
    )
    result = run_script("-c", code, env={**empty_table, "MYSQL_USE_PURE": use_pure})

    assert result.returncode == 1
    line = one_line_error(result)
    assert "asked for a local file this client does not offer, and nothing was sent" in line
    assert line.endswith("if seeding, set LOAD_METHOD=insert")


@pytest.mark.parametrize("key", ["MYSQL_PASSWORD", "MYSQL_USER", "MYSQL_HOST"])
def test_credentials_that_are_not_utf8_are_one_line(key: str) -> None:
    env = {os.fsencode(name): os.fsencode(value) for name, value in os.environ.items()}
    env |= {b"DB_ENGINE": b"mysql", b"MYSQL_HOSTS": b"", key.encode(): NOT_UTF8}
    for script in ("seed.py", "4-stream_ages.py"):
        result = run_script(script, env=env)

        assert result.returncode == 1, result.stderr
        assert result.stderr == (
            f"error: {key} holds bytes that are not UTF-8 text: set it as UTF-8\n"
        )

"""Shared fixtures: a database of the tests' own on each engine, and script runners.

MySQL tests use the server named by MYSQL_HOST, MYSQL_PORT, MYSQL_USER and
MYSQL_PASSWORD (default root@127.0.0.1:3306), in a database created for this
test session and dropped after it: never ALX_prodev. When no server answers
they are skipped on a developer's machine; with CI set that is a failure.
The same tests run on the embedded SQLite engine, in a temporary file.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import hypothesis
import mysql.connector
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import seed  # noqa: E402  (needs ROOT on sys.path)
from scripts.galera import shared_server  # noqa: E402

TEST_DB = f"test_streaming_{os.getpid()}"
ENGINES = ("mysql", "sqlite")
SERVER_KEYS = ("MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD")


def server_settings() -> dict[str, str]:
    """The shared server's address and credentials, from the environment only."""
    return {
        "MYSQL_HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "MYSQL_PORT": os.environ.get("MYSQL_PORT", "3306"),
        "MYSQL_USER": os.environ.get("MYSQL_USER", "root"),
        "MYSQL_PASSWORD": os.environ.get("MYSQL_PASSWORD", ""),
    }


def admin_query(sql: str, params: tuple = (), database: str | None = TEST_DB) -> list[tuple]:
    """Run one statement on the shared server and return its rows."""
    return shared_server().query(sql, params, database)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[tuple[bool, str]]:
    """(answers, why not): the test database is created first and dropped at the end."""
    try:
        admin_query(f"CREATE DATABASE IF NOT EXISTS `{TEST_DB}`", database=None)
    except mysql.connector.Error as error:
        yield False, str(error)
        return
    yield True, ""
    admin_query(f"DROP DATABASE IF EXISTS `{TEST_DB}`", database=None)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each test that asks for it runs once per engine."""
    if request.param == "mysql":
        require_mysql(request)
    return request.param


def require_mysql(request: pytest.FixtureRequest) -> None:
    """Skip (or, under CI, fail) when the shared MySQL server does not answer."""
    answers, why = request.getfixturevalue("mysql_server")
    if not answers:
        message = f"no MySQL server answers at {server_settings()['MYSQL_HOST']}: {why}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run the MySQL tests)")
        pytest.skip(message)


@pytest.fixture
def db_env(
    engine: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point seed (in this process and in subprocesses) at the tests' own database.

    Returns the full environment for subprocesses; the same values are set
    in os.environ for the length of the test.
    """
    settings = {
        **server_settings(),
        "DB_ENGINE": engine,
        "MYSQL_DATABASE": TEST_DB,
        "SQLITE_PATH": str(tmp_path_factory.getbasetemp() / f"{TEST_DB}.sqlite3"),
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MYSQL_HOSTS", raising=False)
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def empty_table(db_env: dict[str, str]) -> dict[str, str]:
    """An existing, empty user_data in the test database; returns db_env."""
    with seed.prodev_connection(create=True) as connection:
        cursor = connection.cursor()
        cursor.execute("DROP TABLE IF EXISTS user_data")
        connection.commit()
        with _quiet():
            seed.create_table(connection)
    return db_env


@pytest.fixture
def seeded(empty_table: dict[str, str]) -> dict[str, str]:
    """user_data holding exactly the sample file's 1,000 users; returns db_env."""
    with seed.prodev_connection() as connection:
        seed.insert_data(connection, ROOT / "user_data.csv")
    return empty_table


class _quiet:
    """Swallow what create_table prints, for fixtures only."""

    def __enter__(self) -> None:
        self._stdout, sys.stdout = sys.stdout, open(os.devnull, "w")

    def __exit__(self, *exc: object) -> None:
        sys.stdout.close()
        sys.stdout = self._stdout


def run_script(
    *args: str, env: dict[str, str], timeout: float = 120, **options: object
) -> subprocess.CompletedProcess[str]:
    """Run ``python args...`` in the project folder and capture its output.

    ``options`` go to subprocess.run and may override these defaults
    (another ``cwd``, ``text=False``).
    """
    defaults: dict[str, object] = {"cwd": ROOT, "capture_output": True, "text": True}
    return subprocess.run(
        [sys.executable, *args], env=env, timeout=timeout, check=False, **{**defaults, **options}
    )


def load(name: str) -> ModuleType:
    """Import a numbered script by its file name, e.g. load('0-stream_users')."""
    return importlib.import_module(name)


def table_rows() -> list[tuple]:
    """Every row of user_data in the configured test database, in user_id order."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT user_id, name, email, age FROM user_data ORDER BY user_id")
        return cursor.fetchall()


def open_connections(database: str = TEST_DB) -> int:
    """Sessions the shared server holds on ``database``, not counting this probe."""
    rows = admin_query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = %s AND ID <> CONNECTION_ID()",
        (database,),
        database=None,
    )
    return int(rows[0][0])


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def settled_sessions() -> int:
    """Server sessions on the test database, once those still closing have gone.

    A connection closed a moment ago (by a fixture, say) can linger in the
    process list briefly; a baseline taken then would never be seen again.
    """
    wait_for(lambda: open_connections() == 0)
    return open_connections()


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``python args...`` in the project folder; whatever still runs is killed after."""
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


# Hypothesis: a modest example count by default (CI included), more on demand
# with HYPOTHESIS_PROFILE=long (docs/testing.md). No deadline: a load's time
# depends on the shared machine, not on the example.
hypothesis.settings.register_profile("ci", max_examples=25, deadline=None)
hypothesis.settings.register_profile("long", max_examples=2_000, deadline=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

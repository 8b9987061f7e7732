"""The curriculum's drivers, run as a grader runs them, in every supported environment.

Each environment (``tests/support/venvs.py``: a pyenv Python, one
``mysql-connector-python`` release, its C extension or pure Python) gets a
fresh virtualenv holding only the driver and python-dotenv, built for this
run in a temporary folder and removed after it; nothing is cached between
runs. A copy of the project (``COMPAT_PROJECT``, default this repository)
runs there, on MySQL in databases of this module's own and on SQLite in
temporary files: ``0-main.py`` to ``3-main.py`` (the last two into
``head``) and ``4-stream_ages.py`` print the curriculum's output, stopping
six rows into a 100,000-row table neither reads the rest nor leaves a
connection open, and a bad batch size is one line.

A Python missing from pyenv or a failed pip install is a failure under CI,
a skip elsewhere. Every release since 8.0.33, C extension and pure Python:
``COMPAT_RELEASES=all .venv/bin/python -m pytest tests/test_compat.py``.
Another checkout: ``COMPAT_PROJECT=/path/to/checkout``.
"""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEST_DB, admin_query, server_settings

from prodev.backends.mysql import TABLE_SQL as MYSQL_TABLE
from prodev.backends.sqlite import TABLE_SQL as SQLITE_TABLE
from tests.support.helpers import one_line_error
from tests.support.venvs import (
    BuildError,
    Environment,
    build_all,
    copy_project,
    env_settings,
    selected_environments,
)

ENVIRONMENTS = selected_environments()
CHILD = Path(__file__).resolve().parent / "support" / "compat_child.py"
USER_KEYS = ["user_id", "name", "email", "age"]
LARGE_ROWS = 100_000
# The early stop must cost under a tenth of the full stream (bench/compat.py
# reports the ratio); the test asserts a quarter, so a busy machine does not
# fail it, while a stop that reads the rest still cannot pass.
EARLY_STOP_LIMIT = 0.25
TIMEOUT = 300  # seconds for one script


def database_name(environment: Environment) -> str:
    """The MySQL database this environment's drivers create and seed."""
    return f"{TEST_DB}_c{ENVIRONMENTS.index(environment)}"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """The run's venvs, project copy and SQLite files, removed at the end whatever happens."""
    with tempfile.TemporaryDirectory(prefix="compat-") as folder:
        yield Path(folder)


@pytest.fixture(scope="module")
def venvs(workdir: Path) -> dict[Environment, Path | BuildError]:
    """Every environment's venv, built at once in parallel."""
    return build_all(ENVIRONMENTS, workdir / "venvs")


@pytest.fixture(scope="module")
def project(workdir: Path) -> Path:
    """The copy of the project the drivers run in."""
    return copy_project(workdir / "project")


@pytest.fixture(params=ENVIRONMENTS, ids=lambda environment: environment.name)
def environment(request: pytest.FixtureRequest) -> Environment:
    """Each test runs once per environment."""
    return request.param


@pytest.fixture
def python(environment: Environment, venvs: dict[Environment, Path | BuildError]) -> Path:
    """This environment's venv python; a venv that could not be built fails under CI."""
    built = venvs[environment]
    if isinstance(built, BuildError):
        if os.environ.get("CI"):
            pytest.fail(f"{environment.name}: {built} (CI must run every environment)")
        pytest.skip(f"{environment.name}: {built}")
    return built


@pytest.fixture(scope="module")
def mysql_databases() -> Iterator[list[str]]:
    """Names of the databases this module's runs create, dropped at the end."""
    names: list[str] = []
    yield names
    for name in names:
        admin_query(f"DROP DATABASE IF EXISTS `{name}`", database=None)


def settings(
    environment: Environment, engine: str, workdir: Path, databases: list[str]
) -> dict[str, str]:
    """The environment a driver runs with: this environment's own database."""
    if engine == "mysql":
        name = database_name(environment)
        if name not in databases:
            databases.append(name)
        database = {**server_settings(), "DB_ENGINE": "mysql", "MYSQL_DATABASE": name}
    else:
        # MYSQL_DATABASE unset: the SQLite file is ours whatever the name says,
        # and the name is the curriculum's, as 0-main.py's check expects.
        database = {"DB_ENGINE": "sqlite",
                    "SQLITE_PATH": str(workdir / f"{environment.name}.sqlite3")}
    return env_settings(environment, database)


def run(
    python: Path, project: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``python args...`` in the project copy, output captured."""
    return subprocess.run(
        [str(python), *args], cwd=project, env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )


@pytest.fixture(scope="module")
def seed_runs() -> dict[tuple[Environment, str], subprocess.CompletedProcess[str]]:
    """Each environment's and engine's run of ``0-main.py``, once per module."""
    return {}


@pytest.fixture
def seeded(
    python: Path, project: Path, environment: Environment, engine: str, workdir: Path,
    mysql_databases: list[str],
    seed_runs: dict[tuple[Environment, str], subprocess.CompletedProcess[str]],
) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """This environment's database after ``0-main.py`` ran once in it, and that run."""
    env = settings(environment, engine, workdir, mysql_databases)
    key = (environment, engine)
    if key not in seed_runs:
        seed_runs[key] = run(python, project, env, "0-main.py")
    return env, seed_runs[key]


def seeded_env(seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]]) -> dict[str, str]:
    """The environment of a seeded database; fails at once if seeding did not work."""
    env, result = seeded
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        pytest.fail(f"0-main.py failed, so there is nothing to read: {lines[-1]}")
    return env


def literal(line: str) -> object:
    """A printed Python value; ``Decimal('67')`` and other calls are not literals."""
    try:
        return ast.literal_eval(line)
    except (ValueError, SyntaxError):
        pytest.fail(f"not a plain printed value: {line[:200]}")


def assert_user(line: str) -> dict:
    """``line`` is one printed user dict with the curriculum's keys and an age like 67."""
    user = literal(line)
    assert isinstance(user, dict), line
    assert list(user) == USER_KEYS, line
    assert type(user["age"]) is int, line
    return user


def piped(
    python: Path, project: Path, env: dict[str, str], script: str, lines: int
) -> tuple[subprocess.CompletedProcess[str], int, str]:
    """``python script | head -n lines``: the script's run, head's exit code and output."""
    producer = subprocess.Popen(
        [str(python), script], cwd=project, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    head = subprocess.Popen(
        ["head", "-n", str(lines)], stdin=producer.stdout, stdout=subprocess.PIPE, text=True
    )
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.close()  # head holds the pipe now: its exit closes it for the script
    shown, _ = head.communicate(timeout=TIMEOUT)
    errors = producer.stderr.read()
    producer.stderr.close()
    producer.wait(timeout=TIMEOUT)
    return subprocess.CompletedProcess(producer.args, producer.returncode, "", errors), \
        head.returncode, shown


def test_only_the_curriculum_packages_are_installed(
    python: Path, environment: Environment
) -> None:
    probe = (
        "import importlib.util, mysql.connector; "
        "print(mysql.connector.__version__, importlib.util.find_spec('tqdm') is None)"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                            check=False, env=env_settings(environment, {}))
    assert result.stdout.split() == [environment.driver, "True"], result.stderr


def test_seeding_driver_prints_the_documented_lines(
    seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]], engine: str
) -> None:
    result = seeded[1]
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    # The driver asks for a database named ALX_prodev literally: on MySQL it
    # is there only if someone made it on the shared server; the SQLite file
    # is named ALX_prodev here.
    present = engine == "sqlite" or bool(
        admin_query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'ALX_prodev'",
                    database=None)
    )
    expected = ["connection successful", "Table user_data created successfully"]
    expected += ["Database ALX_prodev is present"] if present else []
    assert lines[:-1] == expected, result.stdout
    rows = literal(lines[-1])
    assert isinstance(rows, list) and len(rows) == 5, lines[-1]
    for row in rows:
        assert isinstance(row, tuple) and len(row) == 4, lines[-1]
        uuid.UUID(row[0])
        assert type(row[3]) is int, lines[-1]  # 67, not Decimal('67')


def test_streaming_driver_prints_six_users(
    python: Path, project: Path, seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]]
) -> None:
    result = run(python, project, seeded_env(seeded), "1-main.py")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 6, result.stdout
    users = [assert_user(line) for line in lines]
    assert [user["user_id"] for user in users] == sorted(user["user_id"] for user in users)


@pytest.mark.parametrize(("script", "lines", "older_than_25"),
                         [("2-main.py", 5, True), ("3-main.py", 7, False)])
def test_drivers_into_head_print_users_and_nothing_else(
    python: Path, project: Path, seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]],
    script: str, lines: int, older_than_25: bool,
) -> None:
    driver, head_status, shown = piped(python, project, seeded_env(seeded), script, lines)
    assert head_status == 0
    assert driver.stderr == "", driver.stderr[-2000:]
    assert driver.returncode == 0
    printed = shown.splitlines()
    assert len(printed) == lines, shown
    for line in printed:
        user = assert_user(line)
        assert user["age"] > 25 or not older_than_25, line


def test_average_age_script_prints_the_mean(
    python: Path, project: Path, seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]]
) -> None:
    result = run(python, project, seeded_env(seeded), "4-stream_ages.py")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, "Average age of users: 62.38\n", ""
    )


def test_bad_batch_size_is_one_line(
    python: Path, project: Path, seeded: tuple[dict[str, str], subprocess.CompletedProcess[str]]
) -> None:
    driver = "__import__('1-batch_processing').batch_processing(0)"
    line = one_line_error(run(python, project, seeded_env(seeded), "-c", driver))
    assert "batch_size" in line


# ------------------------------------------------------------ early stop


@pytest.fixture(scope="module")
def large_mysql(mysql_databases: list[str]) -> dict[str, str]:
    """A database of this module's own holding LARGE_ROWS users (MariaDB's sequence engine)."""
    name = f"{TEST_DB}_large"
    mysql_databases.append(name)
    admin_query(f"DROP DATABASE IF EXISTS `{name}`", database=None)
    admin_query(f"CREATE DATABASE `{name}`", database=None)
    admin_query(MYSQL_TABLE, database=name)
    admin_query(
        "INSERT INTO user_data (user_id, name, email, age) "
        "SELECT UUID(), CONCAT('User ', seq), CONCAT('user', seq, '@example.com'), 18 + seq % 80 "
        f"FROM seq_1_to_{LARGE_ROWS}",
        database=name,
    )
    return {**server_settings(), "DB_ENGINE": "mysql", "MYSQL_DATABASE": name}


@pytest.fixture(scope="module")
def large_sqlite(workdir: Path) -> dict[str, str]:
    """An SQLite file of LARGE_ROWS users, in the project's table."""
    path = workdir / "large.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(SQLITE_TABLE)
        connection.executemany(
            "INSERT INTO user_data VALUES (?, ?, ?, ?)",
            ((str(uuid.uuid4()), f"User {n}", f"user{n}@example.com", 18 + n % 80)
             for n in range(LARGE_ROWS)),
        )
    connection.close()
    return {"DB_ENGINE": "sqlite", "SQLITE_PATH": str(path)}


def test_stopping_six_rows_into_a_large_table_reads_no_further_and_closes(
    python: Path, project: Path, environment: Environment, engine: str,
    request: pytest.FixtureRequest, record_property: pytest.RecordProperty,
) -> None:
    database = request.getfixturevalue(f"large_{engine}")
    env = env_settings(environment, database)
    result = run(python, project, env, str(CHILD), "early_stop")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    stop = json.loads(result.stdout)["early_stop"]
    ratio = stop["early_seconds"] / stop["full_seconds"]
    record_property("early_stop_ratio", round(ratio, 4))
    times = (f"{environment.name} {engine}: 6 rows {stop['early_seconds']:.4f} s, "
             f"all {stop['rows']} rows {stop['full_seconds']:.4f} s, ratio {ratio:.3f}")
    print(times, file=sys.stderr)
    assert (stop["rows"], stop["taken"], stop["keys"]) == (LARGE_ROWS, 6, USER_KEYS)
    assert ratio < EARLY_STOP_LIMIT, times
    assert stop["held_after"] == stop["held_before"], "the stopped stream left a descriptor open"
    assert stop["sessions_after"] == stop["sessions_before"], "the stopped stream's session stayed"

"""seed.py as users meet it: the five helpers, the grader's driver,
``python3 seed.py``, the user_id rule, the engine choice and what is printed.

Every test works in the test run's own database (conftest's TEST_DB) or in an
SQLite file under tmp_path, never in ALX_prodev. Tests that need no server
point MYSQL_PORT at a closed port.
"""

from __future__ import annotations

import ast
import csv
import os
import random
import re
import socket
import sqlite3
import subprocess
import uuid
from collections.abc import Callable
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, TEST_DB, admin_query, run_script, server_settings, table_rows

import seed
from prodev.bulkload import seed_lock_name
from prodev.config import load_config
from prodev.csvfile import USER_ID_NAMESPACE
from tests.support.helpers import free_port, one_line_error

SAMPLE = ROOT / "user_data.csv"
CREATED = "Table user_data created successfully"
CANARY = "S3cr3t-Canary-42"
NOBODY = "prodev_canary_nobody"  # a user the server does not know
SUMMARY = re.compile(
    r"seed: user_data\.csv: 1000 rows read, (\d+) inserted, (\d+) already present "
    r"\(\d+\.\d\d s\)"
)

SCRIPTS = ("0-stream_users.py", "1-batch_processing.py", "2-lazy_paginate.py", "4-stream_ages.py")
DRIVERS = ("1-main.py", "2-main.py", "3-main.py")
ENTRY_POINTS = [
    ("seed.py",),
    *(("main.py", str(task)) for task in range(5)),
    *((script,) for script in SCRIPTS + DRIVERS),
]

only_mysql = pytest.mark.parametrize("engine", ["mysql"], indirect=True)
CONNECT_HELPERS = pytest.mark.parametrize(
    "helper", [seed.connect_db, seed.connect_to_prodev], ids=["connect_db", "connect_to_prodev"]
)


# --------------------------------------------------------------------- helpers


def command_id(value: object) -> str | None:
    """Test ids like ``main.py 1`` for argument tuples; pytest's own for the rest."""
    return " ".join(value) if isinstance(value, tuple) else None


def offline_env(engine: str, port: int, sqlite_path: Path) -> dict[str, str]:
    """Settings for a subprocess whose MySQL address is 127.0.0.1:``port``."""
    return {
        **os.environ,
        **server_settings(),
        "DB_ENGINE": engine,
        "MYSQL_HOST": "127.0.0.1",
        "MYSQL_PORT": str(port),
        "MYSQL_HOSTS": "",
        "MYSQL_DATABASE": TEST_DB,
        "SQLITE_PATH": str(sqlite_path),
        "PYTHONUNBUFFERED": "1",
    }


def run_seed(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("seed.py", *args, env=env)


def one_line(text: str) -> str:
    """The single line of ``text``; fails if there are more or none."""
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one line, got {lines!r}"
    return lines[0]


def assert_fails_with_one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Non-zero exit, no traceback, one ``error:`` line on stderr holding every fragment."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    line = one_line(result.stderr)
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line
    return line


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["name", "email", "age"])
        writer.writerows(rows)
    return path


def reset_table() -> None:
    """Drop and recreate user_data in the configured database (output discarded)."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("DROP TABLE IF EXISTS user_data")
        connection.commit()
        with open(os.devnull, "w") as devnull, redirect_stdout(devnull):
            seed.create_table(connection)


def load(path: Path) -> seed.LoadResult:
    with seed.prodev_connection() as connection:
        return seed.insert_data(connection, path)


# ------------------------------------------------------- the five prototypes


@CONNECT_HELPERS
def test_connect_helpers_return_a_working_connection_quietly(
    empty_table: dict[str, str], helper: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    connection = helper()
    assert connection
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == [(1,)]
    finally:
        connection.close()
    assert capsys.readouterr() == ("", "")


def test_connect_to_prodev_selects_the_configured_database(
    empty_table: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    connection = seed.connect_to_prodev()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM user_data")  # no database prefix needed
        assert cursor.fetchall() == [(0,)]
    finally:
        connection.close()
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def dead_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> int:
    """This process is configured for DB_ENGINE=mysql at a closed port; returns it."""
    port = free_port()
    for key, value in offline_env("mysql", port, tmp_path / "unused.sqlite3").items():
        monkeypatch.setenv(key, value)
    return port


@CONNECT_HELPERS
def test_connect_helpers_give_none_and_one_line_when_nothing_answers(
    dead_server: int, helper: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert helper() is None
    out, err = capsys.readouterr()
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"error: cannot reach MySQL at 127.0.0.1:{dead_server}")


def test_connect_under_auto_falls_back_to_sqlite_with_one_notice(
    dead_server: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DB_ENGINE", "auto")
    for helper in (seed.connect_db, seed.connect_to_prodev, seed.connect_to_prodev):
        connection = helper()
        assert connection
        connection.close()
    out, err = capsys.readouterr()
    assert out == ""
    notice = one_line(err)  # one notice for the whole process, not one per connection
    assert notice.startswith("notice: ")
    assert f"127.0.0.1:{dead_server}" in notice
    assert "DB_ENGINE=mysql" in notice


@only_mysql
def test_create_database_creates_the_configured_database_once(
    db_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{TEST_DB}_created"

    def exists() -> bool:
        query = "SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = %s"
        return bool(admin_query(query, (name,), database=None))

    assert not exists()
    monkeypatch.setenv("MYSQL_DATABASE", name)
    try:
        for _ in range(2):  # the second call finds it there and does nothing
            connection = seed.connect_db()
            seed.create_database(connection)
            connection.close()
            assert exists()
    finally:
        admin_query(f"DROP DATABASE IF EXISTS `{name}`", database=None)
    assert capsys.readouterr() == ("", "")


def test_create_table_prints_exactly_the_contract_line(
    empty_table: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with seed.prodev_connection() as connection:
        connection.cursor().execute("DROP TABLE user_data")
        seed.create_table(connection)
        seed.create_table(connection)  # already there: same line, no error
    assert capsys.readouterr() == (f"{CREATED}\n{CREATED}\n", "")
    assert table_rows() == []


def test_insert_data_prints_nothing(
    empty_table: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with seed.prodev_connection() as connection:
        seed.insert_data(connection, SAMPLE)
    assert capsys.readouterr() == ("", "")
    assert len(table_rows()) == 1000


# ------------------------------------------------- the grader's seeding driver


@pytest.fixture
def grader_driver(tmp_path: Path) -> Path:
    """The contract's 0-main.py, asking for the test database instead of ALX_prodev."""
    text = (ROOT / "0-main.py").read_text(encoding="utf-8")
    assert text.count("ALX_prodev") == 2  # in the schema query and in what it prints
    driver = tmp_path / "0-main.py"
    driver.write_text(text.replace("ALX_prodev", TEST_DB), encoding="utf-8")
    return driver


def test_grader_driver_prints_the_documented_lines_and_five_rows(
    empty_table: dict[str, str], grader_driver: Path
) -> None:
    env = {**empty_table, "PYTHONPATH": str(ROOT)}  # it imports seed by name
    for _ in range(2):  # a re-run prints the same and loads nothing twice
        result = run_script(str(grader_driver), env=env)  # cwd: the folder of user_data.csv
        assert (result.returncode, result.stderr) == (0, "")
        lines = result.stdout.splitlines()
        assert lines[:3] == [
            "connection successful",
            CREATED,
            f"Database {TEST_DB} is present",
        ]
        assert len(lines) == 4
        assert "Decimal(" not in lines[3]
        rows = ast.literal_eval(lines[3])  # plain tuples of str and int
        assert len(rows) == 5
        assert all(type(row) is tuple and type(row[3]) is int for row in rows)
        assert rows == table_rows()[:5]  # the first five in user_id order
        assert len(table_rows()) == 1000


# --------------------------------------------------------------- seed.py itself


def test_seed_py_twice_leaves_exactly_the_sample_rows(empty_table: dict[str, str]) -> None:
    expected = [("1000", "0"), ("0", "1000")]  # (inserted, already present) per run
    for inserted, present in expected:
        result = run_seed(empty_table)
        assert (result.returncode, result.stderr) == (0, "")
        created, summary = result.stdout.splitlines()
        assert created == CREATED
        match = SUMMARY.fullmatch(summary)
        assert match, summary
        assert match.groups() == (inserted, present)
    assert len(table_rows()) == 1000


def test_sample_facts_hold_in_the_seeded_table(seeded: dict[str, str]) -> None:
    rows = table_rows()
    ages = [age for _, _, _, age in rows]
    emails = [email for _, _, email, _ in rows]
    assert len(rows) == 1000
    assert sum(age > 25 for age in ages) == 804
    assert sum(ages) == 62379
    assert all(type(age) is int for age in ages)
    assert len(set(emails)) == 1000
    assert [user_id for user_id, *_ in rows] == sorted(seed.user_id_for(e) for e in emails)


@only_mysql
def test_both_engines_give_the_same_ids_in_the_same_order(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    sqlite_path = tmp_path / "same.sqlite3"
    sqlite_env = {**empty_table, "DB_ENGINE": "sqlite", "SQLITE_PATH": str(sqlite_path)}
    for env in (empty_table, sqlite_env):
        assert run_seed(env).returncode == 0

    # In the order a plain SELECT * lists them, as the drivers see them.
    on_mysql = [user_id for (user_id,) in admin_query("SELECT user_id FROM user_data")]
    with sqlite3.connect(sqlite_path) as connection:
        on_sqlite = [user_id for (user_id,) in connection.execute("SELECT user_id FROM user_data")]
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        expected = sorted(seed.user_id_for(row["email"]) for row in csv.DictReader(handle))
    assert on_mysql == on_sqlite == expected


# ---------------------------------------------------------------- user_id rule


def varied_emails() -> list[str]:
    """Hand-picked awkward addresses, then random strings over a mixed alphabet."""
    picked = [
        "Molly59@gmail.com",
        "  MOLLY59@GMAIL.COM\t",
        "",
        " ",
        "ü@bücher.de",
        "İstanbul@örnek.tr",  # lower() grows it: İ -> i + combining dot
        "STRASSE@ß.de",
        "ǅemal@x.com",
        "日本語@例え.jp",
        "😀@emoji.io",
        "a" * 255,
        'quote"back\\slash@x.com',
        "tab\tinside@x.com",
        "new\nline@x.com",
    ]
    alphabet = "aZ09@._- +\t\"'\\éÉßİı日本😀\u00a0\u200b\u0301"
    rng = random.Random(20240601)
    generated = ["".join(rng.choices(alphabet, k=rng.randint(1, 80))) for _ in range(2000)]
    return picked + generated


def test_user_id_is_uuid5_of_the_trimmed_lowercased_email() -> None:
    for email in varied_emails():
        expected = str(uuid.uuid5(USER_ID_NAMESPACE, email.strip().lower()))
        assert seed.user_id_for(email) == expected, email


def test_case_and_space_variants_of_an_email_are_one_user() -> None:
    variants = [
        "Molly59@gmail.com",
        "molly59@gmail.com",
        "  MOLLY59@Gmail.COM ",
        "\tmolly59@GMAIL.com\n",
    ]
    assert len({seed.user_id_for(email) for email in variants}) == 1


def test_case_and_space_variants_in_a_file_load_once(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "variants.csv",
        [("Molly", "Molly59@gmail.com", "67"), ("Molly again", " MOLLY59@GMAIL.COM ", "68")],
    )
    result = load(path)
    assert (result.read, result.inserted, result.present) == (2, 1, 1)
    user_id = seed.user_id_for("molly59@gmail.com")
    assert table_rows() == [(user_id, "Molly", "Molly59@gmail.com", 67)]  # the first one wins


# ---------------------------------------------------------------- engine choice


@pytest.fixture(scope="module")
def fallback_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """DB_ENGINE=auto with nothing answering, and the SQLite file it falls back to."""
    folder = tmp_path_factory.mktemp("fallback")
    return offline_env("auto", free_port(), folder / "fallback.sqlite3")


def assert_one_fallback_notice(stderr: str, env: dict[str, str]) -> None:
    notice = one_line(stderr)
    assert notice.startswith("notice: ")
    assert f"127.0.0.1:{env['MYSQL_PORT']}" in notice
    assert "DB_ENGINE=mysql" in notice


@pytest.fixture(scope="module")
def fallback_seeded(fallback_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The result of ``seed.py`` under DB_ENGINE=auto with nothing answering."""
    return run_seed(fallback_env)


def test_auto_seeds_sqlite_with_one_notice_when_nothing_answers(
    fallback_env: dict[str, str], fallback_seeded: subprocess.CompletedProcess[str]
) -> None:
    assert fallback_seeded.returncode == 0
    assert_one_fallback_notice(fallback_seeded.stderr, fallback_env)
    created, summary = fallback_seeded.stdout.splitlines()
    assert created == CREATED
    assert SUMMARY.fullmatch(summary).groups() == ("1000", "0")
    assert Path(fallback_env["SQLITE_PATH"]).is_file()


@pytest.mark.parametrize(
    ("args", "expected_lines"),
    [
        (("1-main.py",), 6),
        (("main.py", "1"), 6),
        (("2-main.py",), 804),
        (("3-main.py",), 1000),
        (("main.py", "4"), 1),
        (("4-stream_ages.py",), 1),
    ],
    ids=command_id,
)
def test_scripts_under_auto_print_their_rows_from_the_fallback(
    fallback_env: dict[str, str],
    fallback_seeded: subprocess.CompletedProcess[str],
    args: tuple[str, ...],
    expected_lines: int,
) -> None:
    result = run_script(*args, env=fallback_env)
    assert result.returncode == 0, result.stderr
    assert_one_fallback_notice(result.stderr, fallback_env)
    lines = result.stdout.splitlines()
    assert len(lines) == expected_lines
    if expected_lines == 1:
        assert lines == ["Average age of users: 62.38"]
    else:
        assert all(line.startswith("{'user_id': '") for line in lines)


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=command_id)
def test_mysql_engine_with_nothing_answering_fails_with_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    port = free_port()
    sqlite_path = tmp_path / "never.sqlite3"
    result = run_script(*args, env=offline_env("mysql", port, sqlite_path))
    assert_fails_with_one_error(result, f"error: cannot reach MySQL at 127.0.0.1:{port}")
    assert result.stdout == ""
    assert not sqlite_path.exists()  # never a silent fallback


def test_sqlite_engine_never_connects_to_mysql(tmp_path: Path) -> None:
    with socket.socket() as listener:  # a "server" that only counts callers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        env = offline_env("sqlite", listener.getsockname()[1], tmp_path / "only.sqlite3")
        for args in (("seed.py",), ("main.py", "1"), ("4-stream_ages.py",)):
            result = run_script(*args, env=env)
            assert (result.returncode, result.stderr) == (0, ""), args
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked


@only_mysql
@pytest.mark.parametrize("args", [("seed.py",), ("main.py", "1")], ids=command_id)
def test_auto_does_not_fall_back_when_the_server_refuses(
    db_env: dict[str, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    sqlite_path = tmp_path / "never.sqlite3"
    env = {
        **db_env,
        "DB_ENGINE": "auto",
        "MYSQL_USER": NOBODY,
        "MYSQL_PASSWORD": CANARY,
        "SQLITE_PATH": str(sqlite_path),
    }
    result = run_script(*args, env=env)
    assert_fails_with_one_error(result, f"access denied for user '{NOBODY}'")
    assert "notice" not in result.stderr
    assert not sqlite_path.exists()


BAD_SETTINGS = [
    ("DB_ENGINE", "postgres"),
    ("MYSQL_DATABASE", "bad-name"),
    ("MYSQL_DATABASE", "x;drop"),
    ("MYSQL_DATABASE", "a" * 65),
    ("MYSQL_DATABASE", "a`b"),
    ("MYSQL_DATABASE", "x\ndrop"),
    ("MYSQL_PORT", "abc"),
    ("MYSQL_PORT", "0"),
    ("MYSQL_PORT", "70000"),
    ("SEED_LOCK_WAIT", "soon"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("args", [("seed.py",), ("main.py", "1")], ids=command_id)
def test_an_invalid_setting_fails_with_one_line_naming_it(
    db_env: dict[str, str], args: tuple[str, ...], variable: str, value: str
) -> None:
    result = run_script(*args, env={**db_env, variable: value})
    assert_fails_with_one_error(result, variable)
    assert result.stdout == ""


# ------------------------------------------------------- no password, anywhere


@only_mysql
@pytest.mark.parametrize("engine_setting", ["mysql", "auto"])
@pytest.mark.parametrize("args", [*ENTRY_POINTS, ("main.py",), ("0-main.py",)], ids=command_id)
def test_no_output_shows_the_password(
    db_env: dict[str, str], tmp_path: Path, engine_setting: str, args: tuple[str, ...]
) -> None:
    env = {
        **db_env,
        "DB_ENGINE": engine_setting,
        "MYSQL_USER": NOBODY,
        "MYSQL_PASSWORD": CANARY,
        "SQLITE_PATH": str(tmp_path / "never.sqlite3"),
    }
    result = run_script(*args, env=env)
    assert f"access denied for user '{NOBODY}'" in result.stderr  # the refusal was reported
    assert CANARY not in result.stdout + result.stderr


def test_config_repr_hides_the_password() -> None:
    config = load_config({"MYSQL_PASSWORD": CANARY, "MYSQL_DATABASE": TEST_DB})
    assert config.password == CANARY
    assert CANARY not in repr(config)
    assert CANARY not in str(config)


# ------------------------------------------------------------- fractional ages

AGES = {"30.5": Decimal("30.5"), "30.25": Decimal("30.25"), "0.01": Decimal("0.01"),
        "999.99": Decimal("999.99"), "67": 67, "0": 0, "30.00": 30}  # fmt: skip


@pytest.fixture
def ages_loaded(empty_table: dict[str, str], tmp_path: Path) -> dict[str, object]:
    """The AGES file loaded; returns {CSV text of the age: the age read back}."""
    rows = [(f"Age {text}", f"age{index}@x.com", text) for index, text in enumerate(AGES)]
    load(write_csv(tmp_path / "ages.csv", rows))
    by_name = {name: age for _, name, _, age in table_rows()}
    return {text: by_name[f"Age {text}"] for text in AGES}


def test_fractional_ages_are_kept_exactly_and_integral_ones_are_ints(
    ages_loaded: dict[str, object],
) -> None:
    for text, expected in AGES.items():
        assert ages_loaded[text] == expected, text
        assert type(ages_loaded[text]) is type(expected), text


@pytest.mark.parametrize("text", ["30.5", "30.25"])
def test_fractional_ages_print_as_in_the_file_on_every_engine(
    ages_loaded: dict[str, object], text: str
) -> None:
    assert repr(ages_loaded[text]) == f"Decimal('{text}')"


# ---------------------------------------------------- LOAD DATA vs. batches


def tricky_rows() -> list[tuple[str, str, str]]:
    """Values the tab-separated spool must escape, and a duplicate user."""
    return [
        ('Smith, "Jr"\nsecond line', "quote@x.com", "1"),
        ("back\\slash\tand tab", "back@x.com", "2.5"),
        ("\\N", "null-marker@x.com", "3"),
        ("NULL", "null-word@x.com", "4"),
        ("carriage\rreturn\r\nand crlf", "cr@x.com", "5.25"),
        ("  spaced  ", " Spaced@X.com ", "6"),
        ("émoji 😀 日本", "ü@bücher.de", "7"),
        ("trailing backslash\\", "trail@x.com", "8"),
        ("N" * 255, "e" * 245 + "@long.test", "999.99"),
        ("duplicate of quote", "QUOTE@x.com", "9"),
    ]


@only_mysql
def test_load_data_and_batch_paths_fill_the_same_table(
    empty_table: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOAD_METHOD", "load-data")
    tricky = write_csv(tmp_path / "tricky.csv", tricky_rows())

    def load_both() -> tuple[seed.LoadResult, seed.LoadResult, list[tuple]]:
        results = (load(SAMPLE), load(tricky))
        return *results, table_rows()

    bulk = load_both()
    reset_table()
    monkeypatch.setenv("LOAD_METHOD", "insert")
    batched = load_both()
    assert batched == bulk
    assert (bulk[1].read, bulk[1].inserted) == (10, 9)
    assert len(bulk[2]) == 1009


# ------------------------------------------------------ settings that vanish


def test_an_in_memory_sqlite_path_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DB_ENGINE": "sqlite", "SQLITE_PATH": ":memory:"}

    done = run_script(str(ROOT / "seed.py"), env=env, cwd=tmp_path)

    line = one_line_error(done)
    assert line.startswith("error: SQLITE_PATH=':memory:' is not valid")
    assert "vanishes" in line
    assert list(tmp_path.iterdir()) == [], "nothing was created"


@pytest.mark.parametrize("name", ["file::memory:", "file:users?mode=memory&cache=shared"])
@pytest.mark.parametrize("args", [("seed.py",), ("main.py", "1")], ids=command_id)
def test_an_in_memory_sqlite_uri_is_refused_before_anything_is_done(
    tmp_path: Path, args: tuple[str, ...], name: str
) -> None:
    env = offline_env("sqlite", free_port(), tmp_path / "unused.sqlite3")
    script, *rest = args
    result = run_script(str(ROOT / script), *rest, env={**env, "SQLITE_PATH": name}, cwd=tmp_path)
    assert_fails_with_one_error(result, f"SQLITE_PATH={name!r}", "in-memory")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [], "a file was created"


# ------------------------------------------------------------ the seed lock


def test_the_seed_lock_name_fits_mysql_8s_64_characters_for_any_database_name() -> None:
    longest, other = "d" * 64, "d" * 63 + "e"

    assert len(seed_lock_name(longest)) <= 64
    assert seed_lock_name(longest) != seed_lock_name(other)
    assert seed_lock_name(longest) == seed_lock_name("d" * 64)


@only_mysql
def test_a_database_with_a_64_character_name_seeds(db_env: dict[str, str]) -> None:
    database = f"{TEST_DB}_".ljust(64, "x")
    try:
        result = run_seed({**db_env, "MYSQL_DATABASE": database})
        assert result.returncode == 0, result.stderr
        assert SUMMARY.search(result.stdout)[1] == "1000"
        assert admin_query("SELECT COUNT(*) FROM user_data", database=database) == [(1000,)]
    finally:
        admin_query(f"DROP DATABASE IF EXISTS `{database}`", database=None)

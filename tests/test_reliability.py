"""Reliability: each defect a fuzzing run found, as a test; the rules behind
them are tested in memory in test_rules.py.

Every test here drives a public entry point (``python3 seed.py``, the
numbered scripts, the contract's functions, documented settings) and checks
what a user sees: the rows stored, the lines printed, the exit code. Tests
that need a ``.env`` run a copy of the project in a temporary folder, so the
worktree's own ``.env`` is never touched.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, admin_query, load, run_script, table_rows

import seed
from prodev.config import KEYS
from tests.support.helpers import free_port, one_line_error

HEADER = '"name","email","age"'
GOOD = '"Ann Lee","ann@x.com","30"'
STREAMS = ("0-stream_users.py", "1-batch_processing.py", "2-lazy_paginate.py", "4-stream_ages.py")
PR_CAPBSET_DROP = 24  # from <linux/prctl.h>
SHOWN_MAX = 300  # characters an error line may spend on the values it quotes


# ------------------------------------------------------------------- helpers


def write_csv(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "users.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join((header, *lines)) + "\n").encode())
    return path


def bare_env(**settings: str) -> dict[str, str]:
    """Our environment without any seed setting, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if key not in KEYS}
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


def sqlite_env(path: Path, **settings: str) -> dict[str, str]:
    return bare_env(DB_ENGINE="sqlite", SQLITE_PATH=str(path), **settings)


def seed_sqlite(path: Path) -> None:
    result = run_script("seed.py", env=sqlite_env(path))
    assert result.returncode == 0, result.stderr


def project_copy(folder: Path, dotenv: bytes | None = None) -> Path:
    """The project's scripts and package in ``folder``, with its own ``.env``."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in ROOT.glob("*.py"):
        shutil.copy(source, folder)
    shutil.copy(ROOT / "user_data.csv", folder)
    if (ROOT / "prodev").is_dir():
        shutil.copytree(
            ROOT / "prodev", folder / "prodev", ignore=shutil.ignore_patterns("__pycache__")
        )
    if dotenv is not None:
        (folder / ".env").write_bytes(dotenv)
    return folder


def run_in(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a script of the project copy in ``folder``."""
    return run_script(*args, env=env, cwd=folder)


def reset_table(engine: str, env: dict[str, str], columns: str) -> None:
    """Replace user_data, in the tests' own database, with a table of ``columns``."""
    if engine == "mysql":
        admin_query("DROP TABLE IF EXISTS user_data")
        admin_query(f"CREATE TABLE user_data ({columns}) DEFAULT CHARSET=utf8mb4")
        return
    columns = columns.replace(" CHARACTER SET latin1", "")  # SQLite has no character sets
    with sqlite3.connect(env["SQLITE_PATH"]) as connection:
        connection.execute("DROP TABLE IF EXISTS user_data")
        connection.execute(f"CREATE TABLE user_data ({columns})")
    connection.close()


def stored_count(engine: str, env: dict[str, str]) -> int:
    if engine == "mysql":
        return int(admin_query("SELECT COUNT(*) FROM user_data")[0][0])
    connection = sqlite3.connect(env["SQLITE_PATH"])
    try:
        return int(connection.execute("SELECT COUNT(*) FROM user_data").fetchone()[0])
    finally:
        connection.close()


def obey_file_modes() -> None:
    """In the child: drop root's power to write read-only files, so modes bind.

    Removes CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER from the
    bounding set before exec; a process that is not root has none of them.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


# ------------------------------------------- 3. an existing table's layout

KEY = "user_id CHAR(36) NOT NULL PRIMARY KEY"
NAME = "name VARCHAR(255) NOT NULL"
EMAIL = "email VARCHAR(255) NOT NULL"
AGE = "age DECIMAL(5, 2) NOT NULL"
# A file whose values the narrow layouts below would round, cut or mangle.
TRICKY_USERS = [
    ("A name of thirty characters...", "a@x.org", "30.5"),
    ("Emoji 😀 and 日本", "b@x.org", "7.49"),
    ("Cy", "c@x.org", "999.99"),
]
LAYOUTS = {
    # name: (columns, the column MySQL must refuse, the one SQLite must refuse)
    "age DECIMAL (10,0)": (f"{KEY}, {NAME}, {EMAIL}, age DECIMAL NOT NULL", "age", None),
    "age DECIMAL(4,2)": (f"{KEY}, {NAME}, {EMAIL}, age DECIMAL(4, 2) NOT NULL", "age", None),
    # SQLite stores what it is given in INT and FLOAT columns: 7.49 stays 7.49.
    "age INT": (f"{KEY}, {NAME}, {EMAIL}, age INT NOT NULL", "age", None),
    "age FLOAT": (f"{KEY}, {NAME}, {EMAIL}, age FLOAT NOT NULL", "age", None),
    # ... but keeps a TEXT age as text, and makes a name like 123 a number in an INT column.
    "age TEXT": (f"{KEY}, {NAME}, {EMAIL}, age TEXT NOT NULL", "age", "age"),
    "name INT": (f"{KEY}, name INT NOT NULL, {EMAIL}, {AGE}", "name", "name"),
    "name VARCHAR(20)": (f"{KEY}, name VARCHAR(20) NOT NULL, {EMAIL}, {AGE}", "name", None),
    "latin1 name": (
        f"{KEY}, name VARCHAR(255) CHARACTER SET latin1 NOT NULL, {EMAIL}, {AGE}",
        "name",
        None,
    ),
    "no email column": (f"{KEY}, {NAME}, {AGE}", "email", "email"),
    "user_id not a key": (
        f"user_id CHAR(36) NOT NULL, {NAME}, {EMAIL}, {AGE}",
        "user_id",
        "user_id",
    ),
    "wider everywhere": (
        "user_id VARCHAR(64) NOT NULL PRIMARY KEY, name TEXT NOT NULL, "
        "email VARCHAR(320) NOT NULL, age DECIMAL(8, 3) NOT NULL",
        None,
        None,
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_existing_table_that_would_change_a_value_is_refused_naming_the_column(
    engine: str, db_env: dict[str, str], tmp_path: Path, layout: str
) -> None:
    columns, mysql_refuses, sqlite_refuses = LAYOUTS[layout]
    refused = mysql_refuses if engine == "mysql" else sqlite_refuses
    reset_table(engine, db_env, columns)
    path = write_csv(tmp_path, *(",".join(f'"{value}"' for value in user) for user in TRICKY_USERS))

    result = run_script("seed.py", str(path), env=db_env)

    if refused is None:  # a layout that holds every value: it loads them exactly
        assert result.returncode == 0, result.stderr
        expected = sorted(
            (seed.user_id_for(email), name, email, Decimal(age))
            for name, email, age in TRICKY_USERS
        )
        assert table_rows() == expected
        return
    line = one_line_error(result)
    assert f"column {refused}" in line or f"column '{refused}'" in line, line
    assert "DROP TABLE" in line or "ALTER TABLE" in line, "the line says how to fix it"
    assert stored_count(engine, db_env) == 0, "nothing stored from a refused load"


@pytest.mark.parametrize("script", STREAMS)
def test_streams_on_a_table_missing_a_column_say_so_in_one_line(
    engine: str, db_env: dict[str, str], script: str
) -> None:
    reset_table(engine, db_env, f"{KEY}, {NAME}, {EMAIL}")

    line = one_line_error(run_script(script, env=db_env))

    assert "age" in line
    assert "user_data" in line


# ------------------------------- 4. SQLite faults, odd settings, a bad .env


def test_a_read_only_sqlite_file_is_one_line_for_seed_and_still_streams(tmp_path: Path) -> None:
    database = tmp_path / "ro.sqlite3"
    seed_sqlite(database)
    database.chmod(0o444)
    path = write_csv(tmp_path, '"New","new@x.com","40"')
    env = sqlite_env(database)

    line = one_line_error(run_script("seed.py", str(path), env=env, preexec_fn=obey_file_modes))
    streamed = run_script("0-stream_users.py", env=env, preexec_fn=obey_file_modes)

    assert str(database) in line
    assert "read-only" in line or "readonly" in line
    assert (streamed.returncode, streamed.stderr) == (0, "")
    assert len(streamed.stdout.splitlines()) == 6


def test_a_read_only_folder_around_a_writable_sqlite_file_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    database = folder / "db.sqlite3"
    seed_sqlite(database)
    folder.chmod(0o555)  # the file stays writable; its journal cannot be created
    path = write_csv(tmp_path, '"New","new@x.com","40"')

    result = run_script("seed.py", str(path), env=sqlite_env(database), preexec_fn=obey_file_modes)
    folder.chmod(0o755)

    assert str(database) in one_line_error(result)


def limit_file_size() -> None:
    """In the child: files may not grow past 64 KiB, as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_under_sqlite_is_one_line_and_commits_nothing(tmp_path: Path) -> None:
    database = tmp_path / "full.sqlite3"
    header_only = write_csv(tmp_path, name="empty.csv")
    assert run_script("seed.py", str(header_only), env=sqlite_env(database)).returncode == 0

    result = run_script("seed.py", env=sqlite_env(database), preexec_fn=limit_file_size)

    line = one_line_error(result)
    assert str(database) in line
    assert stored_count("sqlite", {"SQLITE_PATH": str(database)}) == 0


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[Path]:
    """A seeded SQLite file on which another process holds the write lock."""
    database = tmp_path / "locked.sqlite3"
    seed_sqlite(database)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield database
    holder.execute("ROLLBACK")
    holder.close()


@pytest.mark.parametrize("script", ["seed.py", "0-stream_users.py"])
def test_a_locked_sqlite_file_is_one_line_after_the_configured_wait(
    locked_sqlite: Path, script: str
) -> None:
    env = sqlite_env(locked_sqlite, SQLITE_TIMEOUT="1")

    line = one_line_error(run_script(script, env=env, timeout=30))

    assert "locked" in line
    assert str(locked_sqlite) in line


def entry_points() -> list[list[str]]:
    numbered = sorted(path.name for path in ROOT.glob("[0-9]-*.py"))
    return [["seed.py"], ["main.py"], *(["main.py", str(task)] for task in range(5))] + [
        [name] for name in numbered
    ]


@pytest.mark.parametrize("args", entry_points(), ids=" ".join)
def test_a_dotenv_that_is_not_utf8_is_one_line_in_every_script(
    args: list[str], tmp_path: Path
) -> None:
    folder = project_copy(tmp_path / "project", b"MYSQL_PASSWORD=caf\xe9\nDB_ENGINE=sqlite\n")
    env = bare_env(DB_ENGINE="sqlite", SQLITE_PATH=str(tmp_path / "unused.sqlite3"))

    result = run_in(folder, *args, env=env)
    if args == ["0-main.py"]:  # connect_db() returns None, as the contract says: exit 0
        result.returncode = 1

    line = one_line_error(result)
    assert ".env" in line
    assert "UTF-8" in line
    assert "caf" not in line, "never a password, even a broken one"


# -------------------------- 5. a file name that is not UTF-8, strict stdout


def test_a_file_name_that_is_not_utf8_still_prints_its_summary(
    engine: str, db_env: dict[str, str], tmp_path: Path
) -> None:
    reset_table(engine, db_env, f"{KEY}, {NAME}, {EMAIL}, {AGE}")
    path = Path(os.fsdecode(bytes(tmp_path) + b"/users-\xff.csv"))
    path.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")
    env = {**db_env, "PYTHONIOENCODING": "utf-8:strict"}

    result = run_script("seed.py", str(path), env=env, text=False)

    assert (result.returncode, result.stderr) == (0, b""), result.stderr[-2000:]
    _, summary = result.stdout.decode("utf-8").splitlines()
    assert "1 rows read, 1 inserted" in summary
    assert "users-" in summary
    assert table_rows() == [(seed.user_id_for("ann@x.com"), "Ann Lee", "ann@x.com", 30)]


# --------------------------------------- 6. quoted, cut values in errors


def test_a_header_of_ten_thousand_columns_is_one_short_line(
    tmp_path: Path,
) -> None:
    columns = ",".join(f"column{n}" for n in range(10_000))
    path = write_csv(tmp_path, header=columns)

    line = one_line_error(run_script("seed.py", str(path), env=sqlite_env(tmp_path / "db.sqlite3")))

    assert line.startswith(f"error: {path}: line 1: ")
    assert "'column0'" in line, "the values are quoted"
    assert len(line) < len(str(path)) + 500


# Runs seed.py and writes its own peak memory (VmHWM, kB) to argv[1] at exit. Read
# from inside: ru_maxrss from wait4 would include the memory of the pytest process
# it was forked from, which Linux carries across exec.
PEAK_PROBE = """
import atexit, re, runpy, sys
report = sys.argv.pop(1)
def peak():
    status = open("/proc/self/status").read()
    open(report, "w").write(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
atexit.register(peak)
runpy.run_path("seed.py", run_name="__main__")
"""


def test_a_30_mb_header_is_refused_in_bounded_output_and_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge-header.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("name,email,age")
        handle.write(",c" * 15_000_000)  # 30 MB of two-character columns
        handle.write("\nAnn,ann@x.com,30\n")
    peak = tmp_path / "peak-kb"
    result = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(peak), str(path)],
        cwd=ROOT,
        env=sqlite_env(tmp_path / "db.sqlite3"),
        capture_output=True,
        check=False,
    )

    assert result.returncode == 1
    assert len(result.stderr) < 1000, len(result.stderr)
    text = result.stderr.decode("utf-8")
    assert text.startswith(f"error: {path}: line 1: ") and "Traceback" not in text
    assert int(peak.read_text()) < 200 * 1024, f"peak memory {int(peak.read_text()) // 1024} MiB"


# ------------------------------------------------------ 9. and 10. .env


def test_an_empty_variable_in_the_environment_does_not_hide_dotenv(tmp_path: Path) -> None:
    folder = project_copy(tmp_path / "project", b"DB_ENGINE=sqlite\nMYSQL_DATABASE=rel_named\n")
    # MYSQL_HOST/PORT point nowhere, so that no rule can reach a real server.
    env = bare_env(
        MYSQL_DATABASE="", DB_ENGINE="", MYSQL_HOST="127.0.0.1", MYSQL_PORT=str(free_port())
    )

    result = run_in(folder, "seed.py", env=env)

    assert result.returncode == 0, result.stderr
    assert (folder / "rel_named.sqlite3").exists(), "the database .env names"
    assert not (folder / "ALX_prodev.sqlite3").exists(), "never a database nobody named"
    assert "notice" not in result.stderr, ".env's DB_ENGINE=sqlite holds: nothing to fall back from"


def test_the_rule_for_empty_variables_is_documented() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in (example, readme):
        assert "empty" in text.lower() and "unset" in text.lower()


def test_dotenv_values_are_taken_literally(tmp_path: Path) -> None:
    # Every way of quoting is a rule test (test_rules.py); this is the whole run.
    quoted = "'{}'"
    literal = str(tmp_path / "a${HOME}b$PATH.sqlite3")
    password = "pw${HOME}'x"
    dotenv = (
        f'DB_ENGINE=sqlite\nSQLITE_PATH={quoted.format(literal)}\nMYSQL_PASSWORD="{password}"\n'
    )
    folder = project_copy(tmp_path / "project", dotenv.encode())
    env = bare_env(HOME="/expanded-home")

    result = run_in(folder, "seed.py", env=env)
    show_password = "from prodev.config import load_config; print(load_config().password)"
    read = run_in(folder, "-c", show_password, env=env)

    assert result.returncode == 0, result.stderr
    assert Path(literal).exists()
    assert not (tmp_path / "a/expanded-homeb$PATH.sqlite3").exists()
    assert read.stdout == password + "\n", "a password is sent exactly as written"


# ------------------------------------- 11. a host name that does not resolve


@pytest.mark.parametrize("script", ["seed.py", "0-stream_users.py"])
def test_auto_falls_back_when_the_host_name_does_not_resolve(tmp_path: Path, script: str) -> None:
    database = tmp_path / "fallback.sqlite3"
    seed_sqlite(database)
    env = bare_env(DB_ENGINE="auto", MYSQL_HOST="no-such-host.invalid", SQLITE_PATH=str(database))

    result = run_script(script, env=env, timeout=60)

    assert result.returncode == 0, result.stderr
    (notice,) = result.stderr.splitlines()
    assert notice.startswith("notice: ") and "no-such-host.invalid" in notice
    assert result.stdout.strip()


def test_an_unresolvable_host_under_mysql_is_one_line_naming_it(tmp_path: Path) -> None:
    env = bare_env(DB_ENGINE="mysql", MYSQL_HOST="no-such-host.invalid")

    line = one_line_error(run_script("0-stream_users.py", env=env, timeout=60))

    assert "no-such-host.invalid" in line
    assert "MYSQL_HOST" in line


# ------------------------------------------------ 12. one limit, both engines


@pytest.mark.parametrize("size", [2**31 - 1, 2**31, 2**32 + 1, 2**63 - 1])
def test_any_batch_size_up_to_the_documented_limit_works_on_both_engines(
    seeded: dict[str, str], size: int
) -> None:
    batches = list(load("1-batch_processing").stream_users_in_batches(size))
    pages = list(load("2-lazy_paginate").lazy_paginate(size))

    assert [len(batch) for batch in batches] == [1000]
    assert [len(page) for page in pages] == [1000]


def test_a_batch_size_past_the_limit_is_refused_before_any_query(
    seeded: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match=str(2**63 - 1)):
        list(load("1-batch_processing").stream_users_in_batches(2**63))


# ------------------------------------- 13. all the bad lines, stray quote too


def test_a_stray_quote_adds_to_the_bad_lines_already_found(
    seeded: dict[str, str], tmp_path: Path
) -> None:
    before = table_rows()
    path = write_csv(
        tmp_path,
        GOOD,
        '"Bob","bob@x.com","old"',
        '"Cy","cy@x.com","x"',
        '"Di","di@x.com,"33"',
        '"Ed","ed@x.com","34"',
    )

    result = run_script("seed.py", str(path), env=seeded)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {path}: line 3: field 'age'")
    assert lines[1].startswith(f"{path}: line 4: field 'age'")
    assert lines[2].startswith(f"{path}: line 5: malformed CSV")
    assert table_rows() == before

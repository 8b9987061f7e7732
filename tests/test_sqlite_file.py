"""An unusable SQLITE_PATH is one clear line, not a traceback, for every entry point.

Only seeding creates the file: a reading lesson pointed at a file (or a
table) that does not exist says "run ./seed.py first" and leaves no empty
file behind, wherever SQLITE_PATH points.
"""

import sqlite3
from pathlib import Path

import pytest
from conftest import run_script

SCRIPTS = ("seed.py", "0-stream_users.py", "4-stream_ages.py", "main.py")
READERS = ("0-stream_users.py", "1-batch_processing.py", "2-lazy_paginate.py", "4-stream_ages.py")
SEEDERS = ("seed.py", "main.py")  # the tour seeds first
MISSING = "does not exist: run ./seed.py first (or set SQLITE_PATH)"


def unusable_paths(tmp_path: Path) -> dict[str, Path]:
    not_a_database = tmp_path / "not-a-database.sqlite3"
    not_a_database.write_text("this is a text file\n")
    return {
        "missing folder": tmp_path / "no" / "such" / "x.sqlite3",
        "not a database": not_a_database,
    }


def sqlite_env(path: Path | str) -> dict[str, str]:
    return {"DB_ENGINE": "sqlite", "SQLITE_PATH": str(path), "PATH": "/usr/bin:/bin"}


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("case", ["missing folder", "not a database"])
def test_unusable_sqlite_file_is_one_line_error(script: str, case: str, tmp_path: Path) -> None:
    path = unusable_paths(tmp_path)[case]
    result = run_script(script, env=sqlite_env(path))
    assert result.returncode != 0
    missing = case == "missing folder"
    if missing and script not in SEEDERS:
        expected = f"error: SQLite file {path} {MISSING}"
    else:
        reason = "unable to open database file" if missing else "file is not a database"
        expected = f"error: cannot open SQLite file {path}: {reason} (check SQLITE_PATH)"
    assert result.stderr.splitlines() == [expected]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize("script", READERS)
def test_a_reader_never_creates_the_file(script: str, relative: bool, tmp_path: Path) -> None:
    path = Path("ALX_prodev.sqlite3") if relative else tmp_path / "ALX_prodev.sqlite3"
    where = tmp_path / path  # a relative path is the current folder's

    result = run_script(str(Path.cwd() / script), env=sqlite_env(path), cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == f"error: SQLite file {path} {MISSING}\n"
    assert not where.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script", READERS)
def test_a_reader_of_a_file_without_the_table_says_seed_first(script: str, tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).close()  # a database file, but not seeded

    result = run_script(script, env=sqlite_env(path))

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert lines[0].endswith("run ./seed.py first"), lines[0]
    assert "DROP TABLE" not in lines[0]
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == []

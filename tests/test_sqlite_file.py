"""An unusable SQLITE_PATH is one clear line, not a traceback, for every entry point."""

from pathlib import Path

import pytest
from conftest import run_script

SCRIPTS = ("seed.py", "0-stream_users.py", "4-stream_ages.py", "main.py")


def unusable_paths(tmp_path: Path) -> dict[str, Path]:
    not_a_database = tmp_path / "not-a-database.sqlite3"
    not_a_database.write_text("this is a text file\n")
    return {
        "missing folder": tmp_path / "no" / "such" / "x.sqlite3",
        "not a database": not_a_database,
    }


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("case", ["missing folder", "not a database"])
def test_unusable_sqlite_file_is_one_line_error(script: str, case: str, tmp_path: Path) -> None:
    path = unusable_paths(tmp_path)[case]
    env = {"DB_ENGINE": "sqlite", "SQLITE_PATH": str(path), "PATH": "/usr/bin:/bin"}
    result = run_script(script, env=env)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"error: cannot open SQLite file {path}: "
        + ("unable to open database file" if case == "missing folder" else "file is not a database")
        + " (check SQLITE_PATH)"
    ]
    assert "Traceback" not in result.stdout + result.stderr

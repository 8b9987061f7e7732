"""The MySQL backend: the same rows, types and errors on the fast path and the public API.

The fast path (the C extension with private hooks) engages only where the
installed driver offers what the hooks rely on; elsewhere, and always with
MYSQL_USE_PURE=1, the pure Python driver serves through its public API.
These tests run both paths on the installed driver, and simulate a driver
whose C extension does not load and one whose hooks read wrongly: each must
still give ``67`` (not ``Decimal('67.00')``) on every cursor, and one line
per error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from conftest import ROOT, admin_query, run_script

import seed

only_mysql = pytest.mark.parametrize("engine", ["mysql"], indirect=True)
PATHS = {"fast": "0", "public": "1"}  # MYSQL_USE_PURE

LITERALS = (
    "SELECT CAST(67 AS DECIMAL(5, 2)), CAST(30.5 AS DECIMAL(5, 2)), CAST(NULL AS DECIMAL(5, 2)),"
    " 'text', _utf8mb4 'émoji 😀', NULL, 42, CAST('x' AS BINARY), DATE '2024-02-29'"
)
EXPECTED = (67, Decimal("30.5"), None, "text", "émoji 😀", None, 42, b"x")
PRINT_ROW = (
    "import seed\n"
    "with seed.prodev_connection() as connection:\n"
    "    cursor = connection.cursor()\n"
    "    cursor.execute('SELECT CAST(67 AS DECIMAL(5, 2)), 30.50, \"t\"')\n"
    "    print(cursor.fetchall())\n"
)


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test that asks for it runs on the fast path and on the public API."""
    monkeypatch.setenv("MYSQL_USE_PURE", PATHS[request.param])
    return request.param


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


@only_mysql
@pytest.mark.parametrize(
    "options",
    [{}, {"buffered": True}, {"dictionary": True}, {"buffered": True, "dictionary": True}],
)
def test_every_cursor_reads_the_same_values(
    db_env: dict[str, str], path: str, options: dict
) -> None:
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(**options)
        reads = []
        for fetch in (
            lambda: cursor.fetchone(),
            lambda: cursor.fetchmany(5)[0],
            lambda: cursor.fetchall()[0],
            lambda: next(iter(cursor)),
        ):
            cursor.execute(LITERALS)
            row = fetch()
            cursor.fetchall()  # finish the result before the next query
            reads.append(tuple(row.values()) if options.get("dictionary") else row)
        cursor.close()
    for row in reads:
        assert row[:-1] == EXPECTED
        assert [type(value) for value in row[:-1]] == [type(value) for value in EXPECTED]
        assert str(row[-1]) == "2024-02-29"
        assert repr(row[0]) == "67" and repr(row[1]) == "Decimal('30.5')"


@only_mysql
def test_a_raw_cursor_still_gets_the_bytes(db_env: dict[str, str], path: str) -> None:
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(raw=True)
        cursor.execute("SELECT CAST(67 AS DECIMAL(5, 2)), 'text'")
        assert [tuple(map(bytes, row)) for row in cursor.fetchall()] == [(b"67.00", b"text")]
        cursor.close()


@only_mysql
@pytest.mark.parametrize(
    ("use_pure", "path_line"),
    [("0", "C extension, fast path"), ("1", "pure Python, public API")],
)
def test_version_says_which_path_serves(
    db_env: dict[str, str], use_pure: str, path_line: str
) -> None:
    import mysql.connector

    if use_pure == "0" and not mysql.connector.HAVE_CEXT:
        pytest.fail("the project's venv has the driver's C extension (requirements.txt)")
    result = run_script("main.py", "--version", env={**db_env, "MYSQL_USE_PURE": use_pure})

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"mysql-connector-python {mysql.connector.__version__}, {path_line}\n"


@only_mysql
def test_without_the_c_extension_the_public_api_reads_ages_the_same_way(
    db_env: dict[str, str],
) -> None:
    # As with 26.10.0 on Debian 12: the C extension is there but does not load.
    hide = "import sys; sys.modules['_mysql_connector'] = None\n"
    version = python(hide + "import main; main.main(['--version'])", db_env)
    rows = python(hide + PRINT_ROW, db_env)

    assert version.stdout.endswith(", pure Python, public API\n"), version.stderr
    assert rows.stdout == "[(67, Decimal('30.5'), 't')]\n", rows.stderr


@only_mysql
def test_hooks_that_read_wrongly_give_way_to_the_public_api(db_env: dict[str, str]) -> None:
    # As with 8.0.33, whose C extension hands raw values over as bytearray.
    broken = (
        "from prodev.backends import mysql_fast\n"
        "mysql_fast.FastConnection._reader = lambda self, column: bytearray\n"
    )
    rows = python(broken + PRINT_ROW + "import main; main.main(['--version'])", db_env)

    assert rows.returncode == 0, rows.stderr
    assert rows.stdout.splitlines()[0] == "[(67, Decimal('30.5'), 't')]"
    assert rows.stdout.splitlines()[1].endswith(", pure Python, public API")
    assert rows.stderr == ""


@only_mysql
def test_a_server_lost_at_commit_is_connection_lost_on_either_path(
    db_env: dict[str, str], path: str
) -> None:
    # The C extension's commit() raises its own MySQLInterfaceError class.
    lost = pytest.raises(seed.ConnectionLost, match="lost the connection to MySQL")
    with lost, seed.prodev_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        (session,) = cursor.fetchall()[0]
        admin_query("KILL CONNECTION %s", (session,))
        connection.commit()


def test_a_bad_mysql_use_pure_is_one_line() -> None:
    env = {**os.environ, "DB_ENGINE": "mysql", "MYSQL_USE_PURE": "maybe"}
    result = run_script("main.py", "--version", env=env)

    assert result.returncode == 1
    assert result.stderr == "error: MYSQL_USE_PURE='maybe' is not valid: use 1 or 0\n"


DRIVER_NAMES = re.compile(
    r"\b(mysql\.connector|_mysql_connector|MySQLInterfaceError|sqlite3|engine_of)\b"
)


def test_only_the_backends_name_a_driver_or_branch_on_the_engine() -> None:
    outside = [
        path
        for pattern in ("*.py", "prodev/*.py")
        for path in sorted(ROOT.glob(pattern))
        if path.name != "config.py"
    ]
    assert len(outside) > 10, "the scan found the project's modules"
    named = {
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in outside
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DRIVER_NAMES.search(line.split("#")[0])
    }
    assert named == set()

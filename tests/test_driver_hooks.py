"""The driver hooks: written for one driver version, and reading every value right.

prodev/driver_hooks.py holds every use of mysql-connector-python's private
internals. These tests fail as soon as the installed or pinned driver is not
the version the hooks were written for, and check that the rows read through
the hooks are the values the driver itself would give, ages aside (67, not
Decimal('67.00')), on every kind of cursor.
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import mysql.connector
import pytest
from conftest import ROOT

import seed
from prodev import driver_hooks

only_mysql = pytest.mark.parametrize("engine", ["mysql"], indirect=True)

LITERALS = (
    "SELECT CAST(67 AS DECIMAL(5, 2)), CAST(30.5 AS DECIMAL(5, 2)), CAST(NULL AS DECIMAL(5, 2)),"
    " 'text', _utf8mb4 'émoji 😀', NULL, 42, CAST('x' AS BINARY), DATE '2024-02-29'"
)
EXPECTED = (67, Decimal("30.5"), None, "text", "émoji 😀", None, 42, b"x")


def test_the_installed_driver_is_the_one_the_hooks_were_written_for() -> None:
    assert mysql.connector.__version__ == driver_hooks.DRIVER_VERSION


def test_requirements_pin_the_driver_the_hooks_were_written_for() -> None:
    pinned = re.search(
        r"^mysql-connector-python==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE
    )
    assert pinned and pinned.group(1) == driver_hooks.DRIVER_VERSION


def test_the_hooks_refuse_to_load_under_another_driver_version() -> None:
    code = (
        "import mysql.connector; mysql.connector.__version__ = '99.0.0'\nimport prodev.driver_hooks"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert f"written for mysql-connector-python {driver_hooks.DRIVER_VERSION}" in done.stderr
    assert "found 99.0.0" in done.stderr


@only_mysql
@pytest.mark.parametrize(
    "options",
    [{}, {"buffered": True}, {"dictionary": True}, {"buffered": True, "dictionary": True}],
)
def test_every_cursor_reads_the_same_values(db_env: dict[str, str], options: dict) -> None:
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
def test_a_raw_cursor_still_gets_the_bytes(db_env: dict[str, str]) -> None:
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(raw=True)
        cursor.execute("SELECT CAST(67 AS DECIMAL(5, 2)), 'text'")
        assert cursor.fetchall() == [(b"67.00", b"text")]
        cursor.close()


@only_mysql
def test_the_pure_python_driver_reads_ages_the_same_way(db_env: dict[str, str]) -> None:
    code = (
        "import mysql.connector; mysql.connector.HAVE_CEXT = False\n"
        "import seed\n"
        "with seed.prodev_connection() as connection:\n"
        "    cursor = connection.cursor()\n"
        "    cursor.execute('SELECT CAST(67 AS DECIMAL(5, 2)), 30.50, \"t\"')\n"
        "    print(type(connection).__name__, cursor.fetchall())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=db_env, capture_output=True, text=True
    )
    assert done.stdout == "MySQLConnection [(67, Decimal('30.5'), 't')]\n", done.stderr

"""The embedded engine: an SQLite file that answers like a mysql.connector connection.

It is the zero-setup fallback, so it offers exactly the slice of the driver
the lessons and the curriculum's drivers use: ``cursor(dictionary=True)``,
``%s`` parameters, ``fetchone``/``fetchmany``/``fetchall``, iteration,
``commit``/``rollback``, and the ``INFORMATION_SCHEMA.SCHEMATA`` query of the
task 0 driver. Everything is set on this connection alone: no process-wide
sqlite3 adapters or converters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from prodev.config import Config
from prodev.errors import SetupError, printable
from prodev.schema import exact_number, unusable_table

# sqlite3's fetchmany takes a C int; larger sizes are fetched in pieces this big.
FETCH_MAX = 2**31 - 1


def _exact(value: Any) -> Any:
    # DECIMAL columns have NUMERIC affinity: SQLite keeps 67.00 as the
    # integer 67 and 30.5 as a float, whose shortest repr is the exact
    # two-decimal text that was stored.
    return exact_number(repr(value).encode()) if type(value) is float else value


def _tuple_row(_cursor: sqlite3.Cursor, row: tuple) -> tuple:
    return tuple(map(_exact, row))


def _bindable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _explain(error: sqlite3.Error, path: object, timeout: float) -> str:
    """One line for a failure of the SQLite file, with what to do about it."""
    text = str(error)
    if text.startswith(("no such column", "no such table")):
        return unusable_table(f"SQLite file {printable(path)}", text)
    if "locked" in text:
        hint = f"another process held it for {timeout:g} s: try again, or raise SQLITE_TIMEOUT"
    elif "readonly" in text or "unable to open" in text:
        hint = "check that the file and its folder are writable, or set SQLITE_PATH"
    elif "full" in text or "I/O" in text:
        hint = "is the disk full? free some space, or set SQLITE_PATH elsewhere"
    else:
        hint = "check SQLITE_PATH"
    return f"SQLite file {printable(path)}: {text} ({hint})"


class SQLiteCursor:
    """A sqlite3 cursor with mysql.connector's ``%s`` placeholders and dict rows.

    A failure of the file itself (read-only, locked, disk full, a table
    without the expected columns) raises SetupError with one line.
    """

    def __init__(self, cursor: sqlite3.Cursor, dictionary: bool, owner: SQLiteConnection) -> None:
        self._cursor = cursor
        self._dictionary = dictionary
        self._owner = owner

    def execute(self, operation: str, params: Iterable[Any] = ()) -> None:
        try:
            self._cursor.execute(operation.replace("%s", "?"), tuple(map(_bindable, params)))
        except sqlite3.OperationalError as error:
            raise self._owner.failure(error) from None
        if self._dictionary and self._cursor.description:
            names = self.column_names
            self._cursor.row_factory = lambda _cursor, row: dict(
                zip(names, map(_exact, row), strict=True)
            )

    def executemany(self, operation: str, seq_params: Iterable[Iterable[Any]]) -> None:
        try:
            self._cursor.executemany(operation.replace("%s", "?"), seq_params)
        except sqlite3.OperationalError as error:
            raise self._owner.failure(error) from None

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int = 1) -> list[Any]:
        """Up to ``size`` rows, for any size up to 2**63 - 1, as on MySQL."""
        rows: list[Any] = []
        while (wanted := min(size - len(rows), FETCH_MAX)) and (
            more := self._cursor.fetchmany(wanted)
        ):
            rows += more
        return rows

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column[0] for column in self._cursor.description or ())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def close(self) -> None:
        self._cursor.close()

    def __enter__(self) -> SQLiteCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLiteConnection:
    """An SQLite file standing in for the configured MySQL database."""

    def __init__(self, config: Config) -> None:
        self.path = config.sqlite_path
        self.timeout = config.sqlite_timeout
        try:
            self._connection = sqlite3.connect(
                self.path, timeout=self.timeout, check_same_thread=False
            )
            self._connection.execute("PRAGMA schema_version")  # fails now if the file is unusable
        except sqlite3.Error as error:
            if "locked" in str(error):
                raise self.failure(error) from None
            raise SetupError(
                f"cannot open SQLite file {printable(self.path)}: {error} (check SQLITE_PATH)"
            ) from None
        self._connection.row_factory = _tuple_row
        self._connection.execute("ATTACH DATABASE ':memory:' AS INFORMATION_SCHEMA")
        self._connection.execute("CREATE TABLE INFORMATION_SCHEMA.SCHEMATA (SCHEMA_NAME TEXT)")
        self._connection.execute(
            "INSERT INTO INFORMATION_SCHEMA.SCHEMATA VALUES (?)", (config.database,)
        )
        self._connection.commit()

    def cursor(self, dictionary: bool = False, **_options: object) -> SQLiteCursor:
        return SQLiteCursor(self._connection.cursor(), dictionary, self)

    def commit(self) -> None:
        try:
            self._connection.commit()
        except sqlite3.OperationalError as error:
            raise self.failure(error) from None

    def failure(self, error: sqlite3.Error) -> SetupError:
        """The one-line SetupError for ``error``, a failure of this file."""
        return SetupError(_explain(error, self.path, self.timeout))

    def rollback(self) -> None:
        self._connection.rollback()

    def is_connected(self) -> bool:
        try:
            self._connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return False
        return True

    def close(self) -> None:
        self._connection.close()

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
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from prodev.backends.base import (
    Backend,
    Column,
    Connection,
    exact_number,
    funnelled,
    open_uncancelled,
)
from prodev.config import Config, load_config
from prodev.errors import SetupError, printable
from prodev.schema import (
    LOG_BOUNDARY,
    LOG_HEAD,
    LOG_TABLE,
    LOG_TRIGGER,
    TABLE,
    missing_table,
    unusable_table,
)

# sqlite3's fetchmany takes a C int; larger sizes are fetched in pieces this big.
FETCH_MAX = 2**31 - 1
# WITHOUT ROWID keeps SQLite rows clustered by user_id, as InnoDB does, so a
# plain SELECT * lists them in the same order on both engines.
TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    user_id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    age DECIMAL(5, 2) NOT NULL
) WITHOUT ROWID"""
HAS_TRIGGER = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = %s"
# The follower's log: user_id is indexed for its delete rule (an entry whose
# user has a later entry is not read as that user).
LOG_TABLES_SQL = (
    # A follower reads while writers write: in WAL mode neither waits for the
    # other (with the default rollback journal a commit waits for every
    # reader, and at 5,000 inserts a second the follower fell seconds behind).
    # The mode belongs to the file and stays.
    "PRAGMA journal_mode=WAL",
    f"""CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        pos INTEGER NOT NULL DEFAULT 0
    )""",
    f"CREATE INDEX IF NOT EXISTS {LOG_TABLE}_pos ON {LOG_TABLE} (pos)",
    f"CREATE INDEX IF NOT EXISTS {LOG_TABLE}_user_id ON {LOG_TABLE} (user_id)",
    f"""CREATE TABLE IF NOT EXISTS {LOG_HEAD} (
        id INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL
    )""",
    f"INSERT OR IGNORE INTO {LOG_HEAD} (id, first, last) "
    f"VALUES (1, {LOG_BOUNDARY}, {LOG_BOUNDARY})",
    f"INSERT OR IGNORE INTO {LOG_TABLE} (seq, user_id, pos) VALUES (-1, '', {LOG_BOUNDARY})",
)
LOG_TRIGGER_SQL = f"""CREATE TRIGGER IF NOT EXISTS {LOG_TRIGGER} AFTER INSERT ON {TABLE}
    BEGIN INSERT INTO {LOG_TABLE} (user_id) VALUES (NEW.user_id); END"""
COLUMNS_OF = "SELECT COUNT(*), COALESCE(SUM(name = %s), 0) FROM pragma_table_info(%s)"


def _exact(value: Any) -> Any:
    # DECIMAL columns have NUMERIC affinity: SQLite keeps 67.00 as the
    # integer 67 and 30.5 as a float, whose shortest repr is the exact
    # two-decimal text that was stored.
    return exact_number(repr(value).encode()) if type(value) is float else value


def _tuple_row(_cursor: sqlite3.Cursor, row: tuple) -> tuple:
    return tuple(map(_exact, row))


def _uri(path: Path, create: bool) -> str:
    """The file as a URI whose mode lets only seeding create it (rw: never create)."""
    return f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"


def _bindable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


class SQLiteCursor:
    """A sqlite3 cursor with mysql.connector's ``%s`` placeholders and dict rows.

    Every failure leaves through the backend's funnel: one line.
    """

    def __init__(self, cursor: sqlite3.Cursor, dictionary: bool, owner: SQLiteConnection) -> None:
        self._cursor = cursor
        self._dictionary = dictionary
        self._owner = owner

    def execute(self, operation: str, params: Iterable[Any] = ()) -> None:
        with SQLITE.errors(self._owner):
            self._cursor.execute(operation.replace("%s", "?"), tuple(map(_bindable, params)))
        if self._dictionary and self._cursor.description:
            names = self.column_names
            self._cursor.row_factory = lambda _cursor, row: dict(
                zip(names, map(_exact, row), strict=True)
            )

    def executemany(self, operation: str, seq_params: Iterable[Iterable[Any]]) -> None:
        with SQLITE.errors(self._owner):
            self._cursor.executemany(operation.replace("%s", "?"), seq_params)

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

    def __init__(self, config: Config, backend: SQLiteBackend, create: bool) -> None:
        self.backend = backend
        self.path = config.sqlite_path
        self.timeout = config.sqlite_timeout
        if not create and not self.path.exists():
            raise SetupError(
                f"SQLite file {printable(self.path)} does not exist: run ./seed.py first "
                "(or set SQLITE_PATH)"
            )
        try:
            self._connection = sqlite3.connect(
                _uri(self.path, create), timeout=self.timeout, check_same_thread=False, uri=True
            )
            self._connection.execute("PRAGMA schema_version")  # fails now if the file is unusable
        except sqlite3.Error as error:
            if "locked" in str(error):
                raise backend.translate(error, self) from None
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
        with self.backend.errors(self):
            self._connection.commit()

    def rollback(self) -> None:
        with self.backend.errors(self):
            self._connection.rollback()

    def is_connected(self) -> bool:
        try:
            self._connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return False
        return True

    def close(self) -> None:
        self._connection.close()


class SQLiteBackend(Backend):
    """The SQLite file of SQLITE_PATH, through the standard library's sqlite3."""

    insert_ignore = "INSERT OR IGNORE"
    table_sql = TABLE_SQL
    has_trigger_sql = HAS_TRIGGER
    log_tables_sql, log_trigger_sql, columns_of_sql = LOG_TABLES_SQL, LOG_TRIGGER_SQL, COLUMNS_OF
    can_load_data = False

    def describe(self) -> str:
        return f"sqlite3 {sqlite3.sqlite_version}"

    def connect(self, config: Config, database: bool, create: bool = False) -> Connection:
        return SQLiteConnection(config, self, create)

    def close(self, connection: Connection) -> None:
        connection.close()

    @contextmanager
    def errors(self, connection: Connection | None = None, privilege: str = "") -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise self.translate(error, connection) from None

    def translate(self, error: Exception, connection: Connection | None) -> SetupError:
        """One line for a failure of the SQLite file, with what to do about it."""
        path = load_config().sqlite_path if connection is None else connection.path
        text = str(error)
        where = f"SQLite file {printable(path)}"
        if text.startswith("no such table"):
            return SetupError(missing_table(where, text))
        if text.startswith("no such column"):
            return SetupError(unusable_table(where, text))
        if "locked" in text:
            timeout = load_config().sqlite_timeout if connection is None else connection.timeout
            hint = f"another process held it for {timeout:g} s: try again, or raise SQLITE_TIMEOUT"
        elif "readonly" in text or "unable to open" in text:
            hint = "check that the file and its folder are writable, or set SQLITE_PATH"
        elif "full" in text or "I/O" in text:
            hint = "is the disk full? free some space, or set SQLITE_PATH elsewhere"
        else:
            hint = "check SQLITE_PATH"
        return SetupError(f"{where}: {text} ({hint})")

    def create_database(self, connection: Connection, name: str) -> None:
        """An SQLite file is its own database: nothing to create."""

    @funnelled
    def columns(self, connection: Connection) -> dict[str, Column]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, type, pk FROM pragma_table_info(%s)", (TABLE,))
            rows = cursor.fetchall()
        keys = sum(row[2] > 0 for row in rows)
        return {
            str(name).lower(): Column(
                declared=declared,
                kind=_affinity(declared),
                length=0,
                charset="",
                precision=0,
                scale=0,
                key=primary > 0 and keys == 1,
            )
            for name, declared, primary in rows
        }

    def column_problem(self, name: str, column: Column) -> str | None:
        if name == "user_id":
            return None
        if name == "age":
            if column.kind in ("TEXT", "BLOB"):
                return f"is {column.declared or 'untyped'}, so ages would be stored as text"
            return None
        if column.kind not in ("TEXT", "BLOB"):
            return f"is {column.declared}, so a {name} such as 123 would be stored as a number"
        return None

    def column_fix(self, name: str, column: Column | None) -> str:
        return ""  # SQLite's ALTER TABLE cannot change a column's type

    def create(self, cursor: Any, statement: str) -> None:
        cursor.execute(statement)  # SQLite has CREATE ... IF NOT EXISTS for everything

    def read_committed(self, connection: Connection) -> None:
        """SQLite reads committed data already, and has no gap locks."""

    @contextmanager
    def load_lock(self, connection: Connection, name: str, wait: int) -> Iterator[None]:
        yield  # SQLite's own write lock serialises writers, with a timeout


def _affinity(declared: str) -> str:
    """SQLite's type affinity of a declared column type (its documented rules, in order)."""
    kind = declared.upper()
    if "INT" in kind:
        return "INTEGER"
    if "CHAR" in kind or "CLOB" in kind or "TEXT" in kind:
        return "TEXT"
    if not kind or "BLOB" in kind:
        return "BLOB"
    if "REAL" in kind or "FLOA" in kind or "DOUB" in kind:
        return "REAL"
    return "NUMERIC"


SQLITE = SQLiteBackend()


# ------------------------------------------------------------------ asyncio
# The asyncio side of this backend (prodev.aio uses it), through aiosqlite:
# optional at run time, so it is imported only when an async stream starts.


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict:
    return dict(zip((column[0] for column in cursor.description), map(_exact, row), strict=True))


class SQLiteAsync:
    """Connect, read and close with aiosqlite, rows as the sync path reads them.

    aiosqlite runs sqlite3 in a thread of its own, so every await really
    waits on that thread and the event loop runs meanwhile. The file is
    opened read-only: an async stream only reads.
    """

    def __init__(self, backend: SQLiteBackend) -> None:
        self.backend = backend

    async def connect(self, config: Config) -> Any:
        """A read-only connection to the SQLite file, or SetupError."""
        try:
            import aiosqlite
        except ImportError:
            raise SetupError(
                "reading SQLite from asyncio needs aiosqlite, which is not installed: "
                "pip install aiosqlite"
            ) from None
        uri = f"{Path(config.sqlite_path).resolve().as_uri()}?mode=ro"
        with self.backend.errors():
            return await open_uncancelled(self._connect(aiosqlite, uri, config), self.close)

    @staticmethod
    async def _connect(aiosqlite: Any, uri: str, config: Config) -> Any:
        connection = await aiosqlite.connect(uri, uri=True, timeout=config.sqlite_timeout)
        connection.row_factory = _dict_row
        return connection

    async def execute(self, connection: Any, sql: str, params: tuple = ()) -> Any:
        """A cursor that has run ``sql``; its rows are read as they are fetched."""
        with self.backend.errors():
            return await connection.execute(sql.replace("%s", "?"), tuple(map(_bindable, params)))

    async def fetchmany(self, cursor: Any, size: int) -> list[dict]:
        """Up to ``size`` more rows of ``cursor``."""
        with self.backend.errors():
            return list(await cursor.fetchmany(min(size, FETCH_MAX)))

    async def close(self, connection: Any) -> None:
        """Close; SQLite drops an unfinished statement without reading it. Never raises."""
        try:
            await connection.close()
        except sqlite3.Error:
            pass  # closing a file that failed: nothing is left to release


SQLITE.aio = SQLiteAsync(SQLITE)

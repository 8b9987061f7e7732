#!/usr/bin/env python3
"""Task 0: create ALX_prodev, create user_data and seed it from a CSV file.

The five contract helpers are ``connect_db``, ``create_database``,
``connect_to_prodev``, ``create_table`` and ``insert_data``. This module is
also the only place that knows about database engines: the numbered scripts
get their connections from ``prodev_connection()`` and never branch on the
engine.

Engines. ``DB_ENGINE=mysql`` talks to a MySQL-protocol server (MySQL,
MariaDB, Galera nodes). ``DB_ENGINE=sqlite`` uses an embedded SQLite file
behind the same DB-API surface the scripts use (``cursor(dictionary=True)``,
``%s`` parameters, ``fetchone``/``fetchmany``). ``DB_ENGINE=auto`` (the
default) uses MySQL when a server answers and falls back to SQLite, with a
notice, only when nothing answers at all.

Seeding. ``insert_data`` streams the CSV once, validating every row, and
commits nothing unless every row is valid. Each user's ``user_id`` is the
UUID-5 of the lower-cased, trimmed e-mail address in a fixed namespace, so a
re-run inserts nothing twice and every machine gets the same ids and order.
On MySQL the validated rows are spooled to a temporary file and bulk-loaded
with ``LOAD DATA LOCAL INFILE``; where the server forbids that, and on
SQLite, they are inserted in batches. Either way it is one transaction.

Errors a user can act on (bad configuration, unreachable server, bad CSV)
raise ``SetupError``; entry points print it as one line, never with a
traceback or a password.

Run ``python3 seed.py [CSV]`` to create everything and load the file
(default: user_data.csv beside this script).
"""

from __future__ import annotations

import csv
import ctypes
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from hashlib import sha1
from itertools import islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, NoReturn

import mysql.connector
from dotenv import dotenv_values
from tqdm import tqdm

from prodev import driver_hooks

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE / "user_data.csv"

TABLE = "user_data"
COLUMNS = ("name", "email", "age")
NAME_MAX = EMAIL_MAX = 255  # characters, as in the VARCHAR(255) columns
AGE_PATTERN = re.compile(r"\d{1,3}(\.\d{1,2})?")  # fits DECIMAL(5, 2), >= 0
USER_ID_NAMESPACE = uuid.UUID("7d4bd4b6-6c57-4a43-9f61-2f0c3f0e5a11")
NAMESPACE_BYTES = USER_ID_NAMESPACE.bytes
UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
BATCH_SIZE = 1_000  # rows per executemany on the batched path
ERRORS_SHOWN = 5  # bad lines named before the rest are only counted
CONNECT_TIMEOUT = 5  # seconds; a dead address must not hang any entry point
# Seconds a read or write may wait on a server that has gone silent (frozen,
# packets dropped); longer than a large LOAD DATA's final reply.
IO_TIMEOUT = 30
DECIMALS_REMEMBERED = 10_000  # distinct DECIMAL values cached per connection
MAX_SIZE = 2**63 - 1  # largest LIMIT/OFFSET a MySQL BIGINT can carry
IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,64}")
ENGINES = ("auto", "mysql", "sqlite")
# "Can't connect" (2003) and "can't connect through socket" (2002): nothing
# answered. Anything else means a server answered and refused, which must
# never be hidden by a silent switch to SQLite.
UNREACHABLE = {2002, 2003}
# Server gone away (2006), lost during a query (2013), lost (2055).
LOST = {2006, 2013, 2055}

MYSQL_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    user_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    name VARCHAR({NAME_MAX}) NOT NULL,
    email VARCHAR({EMAIL_MAX}) NOT NULL,
    age DECIMAL(5, 2) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""

# WITHOUT ROWID keeps SQLite rows clustered by user_id, as InnoDB does, so a
# plain SELECT * lists them in the same order on both engines.
SQLITE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    user_id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    age DECIMAL(5, 2) NOT NULL
) WITHOUT ROWID"""

INSERT_ROWS = f"INSERT {{ignore}} INTO {TABLE} (user_id, name, email, age) VALUES (%s, %s, %s, %s)"

# The spool is MySQL's native tab-separated format: backslash escapes the
# characters that would otherwise end a field or a line.
LOAD_SPOOL = f"""
LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE {TABLE} CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'
(user_id, name, email, age)"""
SPOOL_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
# The strict form of a CSV file that _strict_blocks reads fast (see there).
STRICT_BLOCK = 1 << 20  # bytes read at a time
STRICT_HEADER = re.compile(r'\ufeff?"name","email","age"\r?\n')
STRICT_FIELD = r'"(?=[^"]*[!#-\[\]-~])([^"\\\x00-\x1f\x7f]{1,255})"'
STRICT_ROW = re.compile(
    rf'^{STRICT_FIELD},{STRICT_FIELD},"([0-9]{{1,3}}(?:\.[0-9]{{1,2}})?)"\r?\n', re.MULTILINE
)
Block = tuple[int, int, str]  # rows, progress made, spool lines
# allow_local_infile_in_path until a load names its own folder: under
# /dev/null, which is no folder, so it can never exist.
NO_LOCAL_FILES = os.path.join(os.devnull, "no-local-files")
PR_SET_PDEATHSIG = 1  # prctl(2) option: a signal for the child when its parent dies


class SetupError(Exception):
    """A failure the user can fix (configuration, server, input file).

    Its message is one line (or a few, for several bad CSV lines) and never
    contains a password. Entry points print it instead of a traceback.
    """


class ConnectionLost(SetupError):
    """The server went away in the middle of a query (crash, restart, failover)."""


# --------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Where to connect, read from the environment with ``.env`` filling gaps."""

    engine: str = "auto"
    hosts: tuple[tuple[str, int], ...] = (("127.0.0.1", 3306),)
    user: str = "root"
    password: str = field(default="", repr=False)
    database: str = "ALX_prodev"
    sqlite_path: Path = HERE / "ALX_prodev.sqlite3"

    @property
    def address(self) -> str:
        """The servers tried, as ``host:port[,host:port...]``, for messages."""
        return ",".join(f"{host}:{port}" for host, port in self.hosts)


def load_config(environ: dict[str, str] | None = None) -> Config:
    """Read the settings; the environment wins over ``.env`` beside this file."""
    values = {**dotenv_values(HERE / ".env"), **(os.environ if environ is None else environ)}

    def setting(key: str, default: str) -> str:
        value = values.get(key)
        return default if value is None or value == "" else value

    engine = setting("DB_ENGINE", "auto").lower()
    if engine not in ENGINES:
        raise SetupError(f"DB_ENGINE={engine!r} is not valid: use one of {', '.join(ENGINES)}")
    database = setting("MYSQL_DATABASE", "ALX_prodev")
    if not IDENTIFIER.fullmatch(database):
        raise SetupError(
            f"MYSQL_DATABASE={database!r} is not valid: use 1 to 64 letters, digits or underscores"
        )
    if values.get("MYSQL_HOSTS"):
        hosts = tuple(
            _parse_address(item, "MYSQL_HOSTS") for item in values["MYSQL_HOSTS"].split(",")
        )
    else:
        port = setting("MYSQL_PORT", "3306")
        hosts = (_parse_address(f"{setting('MYSQL_HOST', '127.0.0.1')}:{port}", "MYSQL_PORT"),)
    return Config(
        engine=engine,
        hosts=hosts,
        user=setting("MYSQL_USER", "root"),
        password=values.get("MYSQL_PASSWORD") or "",
        database=database,
        sqlite_path=Path(setting("SQLITE_PATH", str(HERE / f"{database}.sqlite3"))),
    )


def _parse_address(text: str, variable: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SetupError(f"{variable}: {text.strip()!r} is not a valid host:port (port 1 to 65535)")
    return host, int(port)


def check_size(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an int in [minimum, 2**63 - 1], else raise.

    Used by the numbered scripts so that a bad size or offset fails at the
    call, before any generator starts and before any SQL runs.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}: {value!r}")
    if not minimum <= value <= MAX_SIZE:
        raise ValueError(f"{name} must be an integer from {minimum} to {MAX_SIZE}, got {value}")
    return value


# ----------------------------------------------------------------- connections


def exact_number(text: bytes) -> int | Decimal:
    """A DECIMAL value read from either engine: ``int`` if integral, else ``Decimal``.

    Ages then print as ``67`` rather than ``Decimal('67.00')``, and 30.5 as
    ``Decimal('30.5')`` on both engines (MySQL's DECIMAL(5, 2) pads it to 30.50).
    """
    whole, _, fraction = text.partition(b".")
    if not fraction.strip(b"0"):  # every age read goes here: skip Decimal when we can
        return int(whole)
    return Decimal(text.decode()).normalize()


class ExactNumbers(dict):
    """exact_number of each DECIMAL text read, remembered for the connection:
    a column of ages holds few distinct values, and a dict lookup costs a
    fraction of a conversion. Bounded, so odd data cannot grow it."""

    def __missing__(self, text: bytes) -> int | Decimal:
        value = exact_number(text)
        if len(self) < DECIMALS_REMEMBERED:
            self[text] = value
        return value


if mysql.connector.HAVE_CEXT:
    from mysql.connector.cursor_cext import CMySQLCursor

    class StreamingCursor(CMySQLCursor):
        """An unbuffered cursor whose iteration fetches rows in chunks.

        The driver's own iteration costs one trip through its Python layer per
        row; fetching 16, then 64, ... up to 1,024 rows at a time makes a full
        read about twice as fast while the first row still comes at once and
        memory stays bounded by the largest chunk (as SQLAlchemy's buffered
        row strategy does). fetchone/fetchmany/fetchall behave as usual.
        """

        def __iter__(self) -> Iterator[Any]:
            size = 16
            while rows := self.fetchmany(size):
                yield from rows
                size = min(size * 4, 1024)

    class StreamingDictCursor(StreamingCursor):
        """Rows as dicts keyed by column name, like cursor(dictionary=True)."""

        def fetchone(self) -> dict[str, Any] | None:
            row = super().fetchone()
            return None if row is None else dict(zip(self.column_names, row, strict=True))

        def fetchmany(self, size: int = 1) -> list[dict[str, Any]]:
            names = repeat(self.column_names)  # a property the driver rebuilds on each call
            return list(map(dict, map(zip, names, super().fetchmany(size))))

        def fetchall(self) -> list[dict[str, Any]]:
            return list(map(dict, map(zip, repeat(self.column_names), super().fetchall())))

    class StreamingConnection(driver_hooks.ConvertingConnection):
        """The C extension's connection: DECIMAL values read with exact_number,
        and the streaming cursors above handed out, on every cursor() call."""

        def __init__(self, **options: Any) -> None:
            self.read_decimal = ExactNumbers().__getitem__
            super().__init__(**options)

        def cursor(  # type: ignore[override]
            self,
            buffered: bool | None = None,
            raw: bool | None = None,
            prepared: bool | None = None,
            cursor_class: type | None = None,
            dictionary: bool | None = None,
            **options: Any,
        ) -> Any:
            if cursor_class is None and not (buffered or raw or prepared):
                cursor_class = StreamingDictCursor if dictionary else StreamingCursor
            return super().cursor(
                buffered=buffered,
                raw=raw,
                prepared=prepared,
                cursor_class=cursor_class,
                dictionary=dictionary,
                **options,
            )

    _CONNECTION_CLASS: Any = StreamingConnection
    _CONVERTER: dict[str, Any] = {}
else:  # pure Python driver: correct, about half as fast
    from mysql.connector.connection import MySQLConnection as _CONNECTION_CLASS

    class _AgeConverter(driver_hooks.DecimalConverter):
        read_decimal = staticmethod(exact_number)

    _CONVERTER = {"converter_class": _AgeConverter}


sqlite3.register_converter("DECIMAL", exact_number)
sqlite3.register_adapter(Decimal, str)


class SQLiteCursor:
    """The slice of mysql.connector's cursor that the scripts use, over sqlite3."""

    def __init__(self, cursor: sqlite3.Cursor, dictionary: bool) -> None:
        self._cursor = cursor
        self._dictionary = dictionary

    def execute(self, operation: str, params: Iterable[Any] = ()) -> None:
        self._cursor.execute(operation.replace("%s", "?"), tuple(params))
        if self._dictionary and self._cursor.description:
            names = self.column_names
            self._cursor.row_factory = lambda _cursor, row: dict(zip(names, row, strict=True))

    def executemany(self, operation: str, seq_params: Iterable[Iterable[Any]]) -> None:
        self._cursor.executemany(operation.replace("%s", "?"), seq_params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size)

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
    """An embedded SQLite database that answers like a mysql.connector connection.

    It also answers the grader's ``INFORMATION_SCHEMA.SCHEMATA`` query, from a
    one-row in-memory table naming the configured database.
    """

    def __init__(self, config: Config) -> None:
        self.path = config.sqlite_path
        try:
            self._connection = sqlite3.connect(
                self.path, timeout=60, detect_types=sqlite3.PARSE_DECLTYPES, check_same_thread=False
            )
            self._connection.execute("PRAGMA schema_version")  # fails now if the file is unusable
        except sqlite3.Error as error:
            raise SetupError(
                f"cannot open SQLite file {self.path}: {error} (check SQLITE_PATH)"
            ) from None
        self._connection.execute("ATTACH DATABASE ':memory:' AS INFORMATION_SCHEMA")
        self._connection.execute("CREATE TABLE INFORMATION_SCHEMA.SCHEMATA (SCHEMA_NAME TEXT)")
        self._connection.execute(
            "INSERT INTO INFORMATION_SCHEMA.SCHEMATA VALUES (?)", (config.database,)
        )
        self._connection.commit()

    def cursor(self, dictionary: bool = False, **_options: object) -> SQLiteCursor:
        return SQLiteCursor(self._connection.cursor(), dictionary)

    def commit(self) -> None:
        self._connection.commit()

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


Connection = Any  # a mysql.connector connection or a SQLiteConnection

# Addresses found dead in this process, so that a run that opens many
# connections under DB_ENGINE=auto probes once and prints one notice.
_fallen_back: set[str] = set()


def _open(database: bool) -> Connection:
    """Open a connection as the configuration says, or raise SetupError."""
    config = load_config()
    if config.engine == "sqlite" or (config.engine == "auto" and config.address in _fallen_back):
        return SQLiteConnection(config)
    try:
        return _open_mysql(config, database)
    except mysql.connector.Error as error:
        if error.errno in UNREACHABLE and config.engine == "auto":
            _fallen_back.add(config.address)
            print(
                f"notice: no MySQL server answers at {config.address}; using SQLite file "
                f"{config.sqlite_path} (set DB_ENGINE=mysql to require MySQL)",
                file=sys.stderr,
            )
            return SQLiteConnection(config)
        raise SetupError(_explain(error, config)) from None


def _open_mysql(config: Config, database: bool) -> Connection:
    """Connect to the first of the configured servers that answers."""
    *others, last = config.hosts
    for host, port in others:
        try:
            return _connect_mysql(config, host, port, database)
        except mysql.connector.Error as error:
            # A node that is down refuses (2003) or, while dying, drops the
            # handshake (2013): either way, the next server may answer.
            if error.errno not in UNREACHABLE | LOST:
                raise
    return _connect_mysql(config, *last, database)


def _connect_mysql(config: Config, host: str, port: int, database: bool) -> Connection:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "user": config.user,
        "password": config.password,
        "connection_timeout": CONNECT_TIMEOUT,
        "read_timeout": IO_TIMEOUT,
        "write_timeout": IO_TIMEOUT,
        **_CONVERTER,
        "charset": "utf8mb4",
        "allow_local_infile_in_path": NO_LOCAL_FILES,
    }
    if database:
        options["database"] = config.database
    try:
        return _CONNECTION_CLASS(**options)
    except mysql.connector.Error as error:
        if error.errno == 1049:  # unknown database: say how to create it
            raise SetupError(
                f"database {config.database} does not exist on {host}:{port}: "
                "run ./seed.py to create and seed it"
            ) from None
        raise


def _explain(error: mysql.connector.Error, config: Config) -> str:
    """One line saying what failed and how to fix it, without the password."""
    if error.errno in UNREACHABLE:
        return (
            f"cannot reach MySQL at {config.address}: start the server, or set "
            "MYSQL_HOST/MYSQL_PORT (or DB_ENGINE=sqlite) in the environment or .env"
        )
    if error.errno in (1045, 1698):
        return (
            f"access denied for user {config.user!r} at {config.address}: "
            "check MYSQL_USER and MYSQL_PASSWORD"
        )
    if error.errno in (1044, 1142):
        return f"user {config.user!r} lacks a privilege on {config.database}: {error.msg}"
    return f"MySQL error at {config.address}: {error.msg}"


def _report(error: SetupError) -> None:
    print(f"error: {error}", file=sys.stderr)


def _connect_or_none(database: bool) -> Connection | None:
    try:
        return _open(database)
    except SetupError as error:
        _report(error)
        return None


def connect_db() -> Connection | None:
    """Connect to the server, no database selected; ``None`` if that fails."""
    return _connect_or_none(database=False)


def connect_to_prodev() -> Connection | None:
    """Connect to the configured database (ALX_prodev); ``None`` if that fails."""
    return _connect_or_none(database=True)


def close_connection(connection: Connection) -> None:
    """Close at once, abandoning any rows the server is still sending.

    The MySQL protocol cannot cancel a result that is being streamed: a plain
    ``close()`` reads every remaining row first, so a consumer that stops
    after six rows of a million would wait for the other 999,994. Dropping
    the socket instead makes the server end the query and the session.
    """
    if getattr(connection, "unread_result", False):
        driver_hooks.abandon(connection)
    try:
        connection.close()
    except mysql.connector.Error:
        pass  # the socket is already gone: nothing is left to release


def check_server() -> None:
    """Raise SetupError unless the configured engine accepts a connection."""
    close_connection(_open(database=False))


@contextmanager
def prodev_connection() -> Iterator[Connection]:
    """A connection to the configured database, closed on exit however it ends.

    Raises SetupError (one clear line) when no connection can be made, and
    ConnectionLost when the server goes away while the connection is in use.
    """
    connection = _open(database=True)
    try:
        yield connection
    except mysql.connector.Error as error:
        # Between queries the driver notices a dead socket only as
        # "Connection not available", without an errno: ask the connection.
        if error.errno in LOST or not connection.is_connected():
            raise ConnectionLost(f"lost the connection to MySQL: {error.msg}") from error
        raise
    finally:
        close_connection(connection)


# ------------------------------------------------------------- schema helpers


def create_database(connection: Connection) -> None:
    """Create the configured database (ALX_prodev) if it does not exist."""
    if isinstance(connection, SQLiteConnection):
        return  # the SQLite file is the database
    database = load_config().database  # validated: letters, digits and _
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")


def create_table(connection: Connection) -> None:
    """Create user_data if it does not exist, then say so as the contract does."""
    statement = SQLITE_TABLE if isinstance(connection, SQLiteConnection) else MYSQL_TABLE
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.commit()
    print(f"Table {TABLE} created successfully")


# ----------------------------------------------------------------- CSV reading


class User(NamedTuple):
    """One validated CSV row, with its user_id; age is the validated decimal text."""

    user_id: str
    name: str
    email: str
    age: str


@dataclass
class LoadResult:
    """What one load did: rows read from the file and rows newly inserted."""

    read: int
    inserted: int

    @property
    def present(self) -> int:
        """Rows skipped because their user_id was already in the table."""
        return self.read - self.inserted


def user_id_for(email: str) -> str:
    """The deterministic user_id of a user: UUID-5 of the normalised e-mail.

    Equal to ``str(uuid.uuid5(USER_ID_NAMESPACE, email.strip().lower()))``,
    spelt out with hashlib because seeding computes one per row and this is
    several times faster than building UUID objects.
    """
    digest = sha1(NAMESPACE_BYTES + email.strip().lower().encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-"
        f"{UUID_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:32]}"
    )


def read_users(path: Path) -> Iterator[User]:
    """Yield the file's users, validated, in file order, in constant memory.

    Every row is checked; bad rows are collected rather than yielded, and once
    the file is read a SetupError names the first few (file, line, field,
    value) and counts the rest. A consumer that commits only after this
    generator is exhausted therefore commits nothing from a bad file.
    """
    errors: list[str] = []
    bad_lines = 0
    for line, values in _records(path):
        if _looks_good(values):
            name, email, age = values
            yield User(user_id_for(email), name, email, age)
            continue
        bad_lines += 1
        if len(errors) < ERRORS_SHOWN:
            errors.append(f"{path}: line {line}: {_problem(values)}")
    if bad_lines:
        more = bad_lines - len(errors)
        raise SetupError(
            "\n".join(errors + ([f"{path}: and {more} more bad lines"] if more else []))
        )


def _records(path: Path) -> Iterator[tuple[int, Sequence[str]]]:
    """Yield (first line number, (name, email, age)) for each data row.

    A row with the wrong number of fields is yielded as it is, for _problem.
    """
    if path.is_dir():
        raise SetupError(f"{path}: is a directory, not a CSV file")
    try:
        # surrogateescape keeps undecodable bytes, so _problem can name the line.
        handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as error:
        raise SetupError(f"{path}: cannot open: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                raise SetupError(
                    f'{path}: the file is empty; expected a header "name","email","age"'
                )
            pick = itemgetter(*_column_order(path, header))
            line = reader.line_num + 1
            for fields in reader:
                if fields:  # a blank line (often the last one) carries no user
                    yield line, pick(fields) if len(fields) == len(COLUMNS) else fields
                line = reader.line_num + 1
        except csv.Error as error:
            # line is where the broken record starts; a stray quote can make
            # the csv module give up many lines later.
            raise SetupError(f"{path}: line {line}: malformed CSV: {error}") from None


def _column_order(path: Path, header: list[str]) -> list[int]:
    """Positions of name, email and age in the header, which may list them in any order."""
    columns = [name.strip().lower() for name in header]
    if sorted(columns) != sorted(COLUMNS):
        raise SetupError(
            f"{path}: line 1: the header must name the columns name, email, age once each "
            f"(in any order, nothing else); found: {', '.join(header) or 'nothing'}"
        )
    return [columns.index(name) for name in COLUMNS]


def _looks_good(values: Sequence[str]) -> bool:
    """The fast test every row takes; _problem explains the rows that fail it."""
    if len(values) != len(COLUMNS):
        return False
    name, email, age = values
    return bool(
        AGE_PATTERN.fullmatch(age)
        and name.strip()
        and email.strip()
        and len(name) <= NAME_MAX
        and len(email) <= EMAIL_MAX
        and "\x00" not in name
        and "\x00" not in email
        and ((name.isascii() and email.isascii()) or (_is_utf8(name) and _is_utf8(email)))
    )


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")  # fails on bytes that surrogateescape smuggled in
    except UnicodeEncodeError:
        return False
    return True


def _problem(values: Sequence[str]) -> str:
    """Say what is wrong with a row that failed _looks_good."""
    if len(values) != len(COLUMNS):
        return f"expected {len(COLUMNS)} fields, found {len(values)}"
    for column, value in zip(COLUMNS, values, strict=True):
        if not value.strip():
            return f"field {column!r} is empty"
        if "\x00" in value:
            return f"field {column!r} contains a NUL byte: {value!r}"
        if not _is_utf8(value):
            return f"field {column!r} is not valid UTF-8: {value!r}"
    name, email, age = values
    for column, value, limit in (("name", name, NAME_MAX), ("email", email, EMAIL_MAX)):
        if len(value) > limit:
            return f"field {column!r} is longer than {limit} characters: {value[:40]!r}..."
    return f"field 'age' is not an age from 0 to 999.99 with at most two decimals: {age!r}"


class NotStrict(Exception):
    """A file, or a line, outside the strict form _strict_blocks reads."""


def _strict_blocks(path: Path) -> Iterator[Block]:
    """Spool lines for a file in the strict form, read fast; NotStrict at any doubt.

    The strict form is the curriculum sample's: the header "name","email","age",
    every field quoted, no quote, backslash or control character inside a
    field, names and emails of 1 to 255 characters with at least one visible
    ASCII character, ages as AGE_PATTERN says with ASCII digits, valid UTF-8.
    Every such row is valid and reads as csv would read it, so one regular
    expression over a block of lines validates and extracts all of its rows,
    and no value needs escaping in the spool. Yields (rows, bytes, lines).
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError:
        raise NotStrict from None  # the ordinary path says why
    with handle:
        header, tail = None, b""
        while (block := handle.read(STRICT_BLOCK)) or tail:
            lines, tail = _whole_lines(tail + block, at_end=not block)
            try:
                text = lines.decode()
            except UnicodeDecodeError:
                raise NotStrict from None
            if not header:
                header = STRICT_HEADER.match(text) or _doubt()
                text = text[header.end() :]
            rows = STRICT_ROW.findall(text)
            if len(rows) != text.count("\n"):  # ^ anchors each row at a line start
                raise NotStrict
            spool = [f"{user_id_for(email)}\t{name}\t{email}\t{age}\n" for name, email, age in rows]
            yield len(rows), len(lines), "".join(spool)
    if header is None:
        raise NotStrict  # an empty file


def _whole_lines(data: bytes, at_end: bool) -> tuple[bytes, bytes]:
    """Split ``data`` after its last newline (the file's last line may lack one)."""
    if at_end:
        return (data if data.endswith(b"\n") else data + b"\n"), b""
    cut = data.rfind(b"\n") + 1
    if not cut and len(data) > STRICT_BLOCK:
        raise NotStrict  # a line longer than a block is no strict row
    return data[:cut], data[cut:]


def _doubt() -> NoReturn:
    raise NotStrict


# ---------------------------------------------------------------- loading rows


def insert_data(connection: Connection, data: str | os.PathLike[str]) -> LoadResult:
    """Insert the users of CSV file ``data`` that are not already in user_data.

    All or nothing: the whole file is validated inside one transaction, and
    a bad row, a lost server or an interrupt leaves the table as it was. A
    concurrent run of the same load waits for this one to finish.
    """
    path = Path(data)
    with _seed_lock(connection):
        try:
            if shutil.which("sort") and _can_load_local(connection):
                with _sorted_rows(path) as (rows, read):
                    inserted = _load_spool(connection, rows)
            else:
                read, inserted = _insert_batches(connection, read_users(path))
            connection.commit()
        except BaseException:
            _rollback(connection)
            raise
    return LoadResult(read, inserted)


def _rollback(connection: Connection) -> None:
    try:
        connection.rollback()
    except (mysql.connector.Error, sqlite3.Error):
        pass  # the connection is gone, and its transaction with it


@contextmanager
def _seed_lock(connection: Connection) -> Iterator[None]:
    """Serialise loads into the same table across processes."""
    if isinstance(connection, SQLiteConnection):
        yield  # SQLite's own write lock serialises writers, with a timeout
        return
    name = f"{load_config().database}.{TABLE}.seed"
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (name,))
        if not cursor.fetchone()[0]:
            print("seed: another load of this table is running; waiting for it", file=sys.stderr)
            cursor.execute("SELECT GET_LOCK(%s, 600)", (name,))
            if not cursor.fetchone()[0]:
                raise SetupError("gave up after waiting 600 s for another load of this table")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))
            cursor.fetchall()


def _can_load_local(connection: Connection) -> bool:
    if isinstance(connection, SQLiteConnection):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@local_infile")
        return bool(cursor.fetchone()[0])


@contextmanager
def _sorted_rows(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    """The validated users of ``path`` as spool lines in user_id order, and their count.

    InnoDB stores rows in primary-key order, and loading them in that order
    is four times faster than in the random order of UUIDs. The lines go
    through the system ``sort``, which sorts in bounded memory with its own
    temporary files while this process is still validating. The strict fast
    reader goes first; at its first doubt its work is dropped and the file is
    read again the ordinary way, which applies every rule and names bad lines.
    """
    try:
        with _sorter() as sorter:
            size = path.stat().st_size if path.is_file() else None  # else NotStrict says why
            count = _pour_rows(sorter, _strict_blocks(path), size, "B")
            yield sorter.stdout, count
        return
    except NotStrict:
        pass
    with _sorter() as sorter:
        count = _pour_rows(sorter, _checked_blocks(path), None, " rows")
        yield sorter.stdout, count


def _pour_rows(
    sorter: subprocess.Popen, blocks: Iterable[Block], total: int | None, unit: str
) -> int:
    """Write the blocks to sort's input; a progress bar on a terminal only."""
    count = 0
    with tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        desc="seed: validating",
        leave=False,
        disable=not sys.stderr.isatty(),
    ) as progress:
        for rows, done, text in blocks:
            sorter.stdin.write(text.encode())
            count += rows
            progress.update(done)
    sorter.stdin.close()
    return count


def _checked_blocks(path: Path) -> Iterator[Block]:
    """Spool lines for the users read_users validates, one block per BATCH_SIZE users."""
    users = read_users(path)
    while batch := list(islice(users, BATCH_SIZE)):
        lines = [f"{u.user_id}\t{_escaped(u.name)}\t{_escaped(u.email)}\t{u.age}\n" for u in batch]
        yield len(batch), len(batch), "".join(lines)


def _escaped(text: str) -> str:
    # translate() costs more than the search, and nearly no value needs it.
    return text.translate(SPOOL_ESCAPES) if NEEDS_ESCAPE.search(text) else text


@contextmanager
def _sorter() -> Iterator[subprocess.Popen]:
    """A running ``sort`` of spool lines by user_id, stopped if it is abandoned.

    It runs in a session of its own, so that Ctrl-C reaches seed.py alone,
    which then stops it; and on Linux it receives SIGTERM when seed.py dies,
    even by SIGKILL, so that it never runs on, orphaned, and removes its
    temporary files. -s keeps duplicates of a user_id in file order, so the
    first one wins; LC_ALL=C sorts bytes, as the ascii_bin column does.
    """
    sorter = subprocess.Popen(
        [shutil.which("sort") or "sort", "-s", "-t", "\t", "-k1,1", "-S", "64M"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C"},
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()) if sys.platform == "linux" else None,
    )
    try:
        yield sorter
    except BaseException as error:
        sorter.kill()
        errors = _reap(sorter)
        if isinstance(error, BrokenPipeError):  # sort stopped reading: it failed (disk full, ...)
            raise _sort_failed(errors, sorter.returncode) from None
        raise
    errors = _reap(sorter)
    if sorter.returncode:
        raise _sort_failed(errors, sorter.returncode)


def _reap(sorter: subprocess.Popen) -> str:
    """Close sort's pipes, wait for it to end, and return what it said on stderr."""
    for pipe in (sorter.stdin, sorter.stdout):
        with suppress(OSError):  # closing stdin flushes, into a pipe sort may have left
            pipe.close()
    errors = sorter.stderr.read().decode(errors="replace")
    sorter.stderr.close()
    sorter.wait()
    return errors


def _sort_failed(errors: str, returncode: int) -> SetupError:
    reason = errors.strip().splitlines()[-1:] or [f"exit code {returncode}"]
    return SetupError(f"sort failed while ordering the rows: {reason[0]}")


def _die_with(parent: int) -> Callable[[], None]:
    """In the child before exec: ask Linux for SIGTERM when ``parent`` ends."""

    def arrange() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return arrange


def _load_spool(connection: Connection, rows: BinaryIO) -> int:
    """LOAD DATA LOCAL INFILE the spool lines read from ``rows``, returning rows inserted.

    The lines reach the driver through a FIFO in a folder this process has
    just created for itself, the only folder the connection may load from
    while the load runs. The folder and the FIFO are removed as soon as the
    driver has opened it, so nothing of the spool is ever left on disk.
    """
    folder = Path(tempfile.mkdtemp(prefix="alx-prodev-load-"))
    fifo = folder / "rows.tsv"
    try:
        status = folder.stat()
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            raise SetupError(f"{folder}: not a private folder of this user; check TMPDIR")
        os.mkfifo(fifo, 0o600)
        feeder = threading.Thread(target=_feed, args=(rows, fifo), daemon=True)
        feeder.start()
        connection.set_allow_local_infile_in_path(str(folder))
        try:
            with connection.cursor() as cursor:
                cursor.execute(LOAD_SPOOL, (str(fifo),))
                return cursor.rowcount
        finally:
            connection.set_allow_local_infile_in_path("")
            with suppress(FileNotFoundError):  # the load never opened the FIFO: free the feeder
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
            feeder.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _feed(rows: BinaryIO, fifo: Path) -> None:
    """Copy ``rows`` into the FIFO, once the load has opened its other end."""
    with open(fifo, "wb") as sink:
        fifo.unlink()
        fifo.parent.rmdir()
        with suppress(BrokenPipeError):  # the load failed; it reports why
            shutil.copyfileobj(rows, sink, 1 << 20)


def _insert_batches(connection: Connection, users: Iterable[User]) -> tuple[int, int]:
    ignore = "OR IGNORE" if isinstance(connection, SQLiteConnection) else "IGNORE"
    statement = INSERT_ROWS.format(ignore=ignore)
    read = inserted = 0
    rows = iter(users)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, BATCH_SIZE)):
            cursor.executemany(statement, batch)
            read += len(batch)
            inserted += cursor.rowcount
    return read, inserted


# ----------------------------------------------------------------- entry point


def seed(path: Path) -> LoadResult:
    """Create the database and table, then load ``path``; used by ``main``."""
    connection = _open(database=False)
    try:
        create_database(connection)
    finally:
        connection.close()
    with prodev_connection() as connection:
        create_table(connection)
        return insert_data(connection, path)


def main(argv: list[str] | None = None) -> int:
    """``seed.py [CSV]``: seed user_data and print one summary line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or args[:1] in (["-h"], ["--help"]):
        print("usage: seed.py [CSV]  (default: user_data.csv beside seed.py)", file=sys.stderr)
        return 2
    path = Path(args[0]) if args else DEFAULT_CSV
    started = time.perf_counter()
    try:
        result = seed(path)
    except SetupError as error:
        _report(error)
        return 1
    except KeyboardInterrupt:  # insert_data has rolled back
        print(f"seed: {path.name}: interrupted, nothing committed", file=sys.stderr)
        return 130  # as a shell reports a command ended by SIGINT
    print(
        f"seed: {path.name}: {result.read} rows read, {result.inserted} inserted, "
        f"{result.present} already present ({time.perf_counter() - started:.2f} s)"
    )
    return 0


def _excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """Print SetupError as one line even under a driver that does not catch it."""
    if isinstance(error, SetupError):
        _report(error)
    else:
        _previous_excepthook(kind, error, trace)


_previous_excepthook = sys.excepthook
sys.excepthook = _excepthook

if __name__ == "__main__":
    sys.exit(main())

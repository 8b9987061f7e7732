"""MySQL-protocol servers (MySQL, MariaDB, a Galera node) through mysql-connector-python.

Every release of the driver from 8.0.33 on serves, C extension or pure
Python, and gives the same rows: ages read as ``67`` rather than
``Decimal('67.00')`` on every cursor, the plain one a grader opens
included, and a consumer that stops early never waits for the rows it did
not ask for. Two paths lead there:

- the fast path (``prodev.backends.mysql_fast``): the C extension with
  private hooks, where the driver offers every one of them;
- the public API: the pure Python driver, with a ``converter_class`` for
  DECIMAL and ``shutdown()`` to drop the socket on an early close. It
  serves wherever the fast path does not engage, and always with
  ``MYSQL_USE_PURE=1``.

Options a driver release does not know (``read_timeout``/``write_timeout``
arrived in 9.2) are passed only where it accepts them.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mysql.connector
from mysql.connector.connection import MySQLConnection
from mysql.connector.constants import DEFAULT_CONFIGURATION
from mysql.connector.conversion import MySQLConverter

from prodev.backends import mysql_fast
from prodev.backends.base import (
    Backend,
    Column,
    Connection,
    exact_number,
    funnelled,
    open_uncancelled,
)
from prodev.config import Config, load_config
from prodev.errors import ConnectionLost, SetupError, TryAgain
from prodev.schema import (
    EMAIL_MAX,
    LOG_BOUNDARY,
    LOG_HEAD,
    LOG_TABLE,
    LOG_TRIGGER,
    NAME_MAX,
    TABLE,
    missing_table,
    unusable_table,
)

CONNECT_TIMEOUT = 5  # seconds; a dead address must not hang any entry point
# "Can't connect" (2003), "can't connect through socket" (2002) and "unknown
# host" (2005, the name does not resolve): nothing answered. Anything else
# means a server answered and refused, which must never be hidden by a silent
# switch to SQLite.
UNREACHABLE = {2002, 2003, 2005}
# Server gone away (2006), lost during a query (2013), lost (2055).
LOST = {2006, 2013, 2055}
# Lock wait timeout (1205) and deadlock (1213), which is also how Galera
# reports a transaction that lost certification.
TRY_AGAIN = {1205, 1213}
ACCESS_DENIED = {1045, 1698}
# No privilege on the database (1044), on a table (1142), a column (1143),
# a routine (1370), or a global one such as SUPER (1227; 1419: a trigger
# created while binary logging is on).
NO_PRIVILEGE = {1044, 1142, 1143, 1227, 1370, 1419}
# "TRIGGER command denied to user ...", "you need (at least one of) the SUPER privilege(s)"
PRIVILEGE_NAMED = re.compile(r"^(\w[\w ]*?) command denied|the (\w[\w ]*?) privilege")
INTERRUPTED = 1317  # KILL QUERY (or max_statement_time) ended the query
# The client refused the server's request for a local file (LOAD DATA LOCAL):
# 2068 from the C extension; the pure Python driver's message names the setting.
FILE_REFUSED = 2068
FILE_REFUSED_TEXT = ("allow_local_infile_in_path", "LOAD DATA LOCAL INFILE file request rejected")
UNKNOWN_DATABASE = 1049
CLIENT_ERRORS = range(2000, 3000)  # raised by the client library; the server's are outside
UNKNOWN_COLUMN, NO_SUCH_TABLE = 1054, 1146
TRIGGER_EXISTS = 1359  # MySQL 8 has no CREATE TRIGGER IF NOT EXISTS
# allow_local_infile_in_path between loads: under /dev/null, which is no
# folder, so it can never exist and no file can ever be read from it.
NO_LOCAL_FILES = os.path.join(os.devnull, "no-local-files")
# Where the driver accepts them, reads and writes wait at most MYSQL_IO_TIMEOUT.
TIMEOUTS = tuple(key for key in ("read_timeout", "write_timeout") if key in DEFAULT_CONFIGURATION)
LOCAL_PATH_MAX = 511  # bytes of a LOAD DATA LOCAL file's path the C client takes (FN_REFLEN)
LOCK_STEP = 5  # seconds one GET_LOCK call may wait: well inside the read timeout
DRIVER_ERRORS = (mysql.connector.Error, *mysql_fast.ERRORS)
PROBE = "SELECT CAST(67 AS DECIMAL(5, 2)), CAST(30.5 AS DECIMAL(5, 2)), 'é', NULL, 42"
PROBE_READS = ["67", "Decimal('30.5')", "'é'", "None", "42"]

TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    user_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    name VARCHAR({NAME_MAX}) NOT NULL,
    email VARCHAR({EMAIL_MAX}) NOT NULL,
    age DECIMAL(5, 2) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""
# How user_data's columns are declared: the fix a refusal suggests.
COLUMNS = {
    "user_id": "user_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY",
    "name": f"name VARCHAR({NAME_MAX}) CHARACTER SET utf8mb4 NOT NULL",
    "email": f"email VARCHAR({EMAIL_MAX}) CHARACTER SET utf8mb4 NOT NULL",
    "age": "age DECIMAL(5, 2) NOT NULL",
}
READ_COLUMNS = (
    "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,"
    " CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE,"
    " COLUMN_KEY FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
)
HAS_TRIGGER = (
    "SELECT COUNT(*) FROM information_schema.TRIGGERS"
    " WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = %s"
)
# The follower's log: user_id is indexed for its delete rule (an entry whose
# user has a later entry is not read as that user).
LOG_TABLES_SQL = (
    f"""CREATE TABLE IF NOT EXISTS {LOG_TABLE} (
        seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        user_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        pos BIGINT NOT NULL DEFAULT 0,
        KEY pos (pos),
        KEY user_id (user_id)
    ) ENGINE=InnoDB""",
    f"""CREATE TABLE IF NOT EXISTS {LOG_HEAD} (
        id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
        first BIGINT NOT NULL,
        last BIGINT NOT NULL
    ) ENGINE=InnoDB""",
    f"INSERT IGNORE INTO {LOG_HEAD} (id, first, last) VALUES (1, {LOG_BOUNDARY}, {LOG_BOUNDARY})",
    f"INSERT IGNORE INTO {LOG_TABLE} (seq, user_id, pos) VALUES (-1, '', {LOG_BOUNDARY})",
)
LOG_TRIGGER_SQL = f"""CREATE TRIGGER {LOG_TRIGGER} AFTER INSERT ON {TABLE} FOR EACH ROW
    INSERT INTO {LOG_TABLE} (user_id) VALUES (NEW.user_id)"""
COLUMNS_OF = (
    "SELECT COUNT(*), COALESCE(SUM(COLUMN_NAME = %s), 0) FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
)
TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
AGE_DIGITS = (3, 2)  # digits before and after the point: 0 to 999.99


class AgeConverter(MySQLConverter):
    """The public path's converter: DECIMAL values read with exact_number."""

    def _decimal_to_python(self, value: bytes, desc: Any = None) -> Any:
        return exact_number(value)

    _newdecimal_to_python = _decimal_to_python


class MySQLBackend(Backend):
    """MySQL, MariaDB and Galera through mysql-connector-python."""

    insert_ignore = "INSERT IGNORE"
    table_sql = TABLE_SQL
    has_trigger_sql = HAS_TRIGGER
    log_tables_sql, log_trigger_sql, columns_of_sql = LOG_TABLES_SQL, LOG_TRIGGER_SQL, COLUMNS_OF
    can_load_data = True

    def __init__(self) -> None:
        # None until the first connection has read the probe row through the hooks.
        self.fast: bool | None = None if mysql_fast.OFFERED else False

    def describe(self) -> str:
        config = load_config()
        fast = self.fast is not False and not config.use_pure
        path = "C extension, fast path" if fast else "pure Python, public API"
        return f"mysql-connector-python {mysql.connector.__version__}, {path}"

    def connect(self, config: Config, database: bool, create: bool = False) -> Connection:
        try:
            return self._open_first(config, database)
        except DRIVER_ERRORS as error:
            # Lost in the handshake is not a lost session: nothing was under way.
            lost = getattr(error, "errno", None) in LOST
            raise (
                SetupError(f"MySQL error at {config.address}: {error.msg}")
                if lost
                else self.translate(error, None)
            ) from error

    def _open_first(self, config: Config, database: bool) -> Connection:
        """Connect to the first of the configured servers that answers."""
        *others, last = config.hosts
        for host, port in others:
            try:
                return self._open(config, host, port, database)
            except DRIVER_ERRORS as error:
                # A node that is down refuses (2003) or, while dying, drops
                # the handshake (2013): either way, the next may answer.
                if getattr(error, "errno", None) not in UNREACHABLE | LOST:
                    raise
        return self._open(config, *last, database)

    def nothing_answers(self, config: Config) -> bool:
        """True if no configured server answers at all (a refusal is an answer)."""
        try:
            self.close(self.connect(config, database=False))
        except ConnectionLost:
            return False
        except SetupError as error:
            return getattr(error.__cause__, "errno", None) in UNREACHABLE
        return False

    def _open(self, config: Config, host: str, port: int, database: bool) -> Connection:
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "user": config.user,
            "password": config.password,
            "connection_timeout": CONNECT_TIMEOUT,
            **dict.fromkeys(TIMEOUTS, config.io_timeout),
            "charset": "utf8mb4",
            # LOAD DATA LOCAL may read nothing until a load names its own
            # folder (prodev.bulkload); the capability itself is asked for here.
            "allow_local_infile_in_path": NO_LOCAL_FILES,
        }
        if database:
            options["database"] = config.database
        if self.fast is not False and not config.use_pure:
            connection = mysql_fast.FastConnection(**options)
            connection.backend = self
            if self.fast or self._fast_reads_right(connection):
                return connection
            self.close(connection)
        connection = MySQLConnection(converter_class=AgeConverter, **options)
        connection.backend = self
        return connection

    def _fast_reads_right(self, connection: Connection) -> bool:
        """Read a probe row through the hooks once; if it is wrong, use the public API."""
        try:
            cursor = connection.cursor()
            cursor.execute(PROBE)
            row = cursor.fetchall()[0]
            cursor.close()
        except Exception:  # whatever a private hook breaks with, the public API serves
            row = ()
        # repr, not ==: Decimal('67') == 67, but only 67 prints as the contract says.
        self.fast = list(map(repr, row)) == PROBE_READS
        return self.fast

    def close(self, connection: Connection) -> None:
        # The MySQL protocol cannot cancel a result that is being streamed: a
        # plain close() reads every remaining row first, so a consumer that
        # stops after six rows of a million would wait for the other 999,994.
        # Dropping the socket instead makes the server end the query and the
        # session.
        try:
            if connection.unread_result:
                if isinstance(connection, MySQLConnection):
                    connection.shutdown()
                else:
                    mysql_fast.abandon(connection)
            connection.close()
        except DRIVER_ERRORS:
            pass  # the socket is already gone: nothing is left to release

    @contextmanager
    def errors(self, connection: Connection | None = None, privilege: str = "") -> Iterator[None]:
        try:
            yield
        except DRIVER_ERRORS as error:
            raise self.translate(error, connection, privilege) from error

    def translate(
        self, error: Exception, connection: Connection | None, privilege: str = ""
    ) -> SetupError:
        """The one line for ``error``, as the class of project error it is.

        ``privilege`` is what the statement needs, for a refusal that does
        not name it.
        """
        config = load_config()
        errno, message = getattr(error, "errno", None), getattr(error, "msg", str(error))
        if errno in UNREACHABLE:
            return SetupError(
                f"cannot reach MySQL at {config.address}: start the server, or set "
                "MYSQL_HOST/MYSQL_PORT (or DB_ENGINE=sqlite) in the environment or .env"
            )
        if errno == FILE_REFUSED or any(text in message for text in FILE_REFUSED_TEXT):
            return SetupError(
                f"MySQL at {config.address} asked for a local file this client does not offer, "
                f"and nothing was sent ({message}): if seeding, set LOAD_METHOD=insert"
            )
        if errno in LOST or (
            _client_side(errno) and connection is not None and not _connected(connection)
        ):
            # Between queries the driver notices a dead socket only as
            # "Connection not available", without an errno: ask the connection
            # (an error the server sent came from a live one).
            return ConnectionLost(f"lost the connection to MySQL: {message}")
        if errno in TRY_AGAIN:
            return TryAgain(f"MySQL rolled the transaction back: {message}")
        if errno in ACCESS_DENIED:
            return SetupError(
                f"access denied for user {config.user!r} at {config.address}: "
                "check MYSQL_USER and MYSQL_PASSWORD"
            )
        if errno == UNKNOWN_DATABASE:
            return SetupError(
                f"database {config.database} does not exist on {config.address}: "
                "run ./seed.py to create and seed it"
            )
        if errno in NO_PRIVILEGE:
            return SetupError(_no_privilege(config, message, privilege))
        if errno == INTERRUPTED:
            return SetupError(
                f"MySQL at {config.address} interrupted the query (KILL QUERY, or a statement "
                f"time limit): {message}"
            )
        if errno == NO_SUCH_TABLE:
            return SetupError(missing_table(f"database {config.database}", message))
        if errno == UNKNOWN_COLUMN:
            return SetupError(unusable_table(f"database {config.database}", message))
        return SetupError(f"MySQL error at {config.address}: {message}")

    def create_database(self, connection: Connection, name: str) -> None:
        # The server's refusal (1044) names no privilege; this statement needs CREATE.
        with self.errors(connection, privilege="CREATE"), connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")

    @funnelled
    def columns(self, connection: Connection) -> dict[str, Column]:
        with connection.cursor() as cursor:
            cursor.execute(READ_COLUMNS, (TABLE,))
            rows = cursor.fetchall()
        keys = sum(row[-1] == "PRI" for row in rows)
        return {
            str(name).lower(): Column(
                declared=str(declared),
                kind=str(kind).lower(),
                # A TINYTEXT holds 255 bytes: only 63 four-byte characters.
                length=min(length or 0, (octets or 0) // 4)
                if charset == "utf8mb4"
                else length or 0,
                charset=str(charset or ""),
                precision=int(precision or 0),
                scale=int(scale or 0),
                key=key == "PRI" and keys == 1,
            )
            for name, declared, kind, length, octets, charset, precision, scale, key in rows
        }

    def column_problem(self, name: str, column: Column) -> str | None:
        if name == "user_id":
            return f"is {column.declared}, too short for a UUID" if column.length < 36 else None
        if name == "age":
            before, after = AGE_DIGITS
            if column.kind != "decimal":
                return (
                    f"is {column.declared}, which does not store every age from 0 to 999.99 exactly"
                )
            if column.scale < after or column.precision - column.scale < before:
                return f"is {column.declared}, which would round or refuse ages from 0 to 999.99"
            return None
        if column.kind not in TEXT_TYPES:
            return f"is {column.declared}, not a text column"
        if column.length < NAME_MAX:
            return (
                f"is {column.declared}, which would cut values longer than {column.length} "
                "characters"
            )
        if column.charset != "utf8mb4":
            return (
                f"is {column.declared} in {column.charset}, which cannot hold every character "
                "(emoji)"
            )
        return None

    def column_fix(self, name: str, column: Column | None) -> str:
        change = "ADD" if column is None else "MODIFY"
        return f"ALTER TABLE {TABLE} {change} {COLUMNS[name]}"

    def create(self, cursor: Any, statement: str) -> None:
        try:
            cursor.execute(statement)
        except mysql.connector.Error as error:
            if error.errno != TRIGGER_EXISTS:
                raise self.translate(error, None) from error

    @funnelled
    def read_committed(self, connection: Connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")

    def local_file_problem(self, path: str) -> str | None:
        # The C extension crashes on a path that is not UTF-8 (the pure driver
        # cannot send it), and the client library cuts a longer one.
        try:
            size = len(os.path.realpath(path).encode())
        except UnicodeEncodeError:
            return "is not UTF-8 text"
        if size > LOCAL_PATH_MAX:
            return f"is {size} bytes long; the MySQL client library takes {LOCAL_PATH_MAX}"
        return None

    @contextmanager
    def load_lock(self, connection: Connection, name: str, wait: int) -> Iterator[None]:
        with self.errors(connection), connection.cursor() as cursor:
            if not _get_lock(cursor, name, 0):
                print(
                    "seed: another load of this table is running; waiting for it",
                    file=sys.stderr,
                )
                if not _wait_for_lock(cursor, name, wait, load_config().io_timeout):
                    raise SetupError(
                        f"another seed is loading this table: gave up waiting {wait} s for it "
                        "(SEED_LOCK_WAIT): try again when it has finished"
                    )
        try:
            yield
        finally:
            with self.errors(connection), connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))
                cursor.fetchall()


def _no_privilege(config: Config, message: str, needed: str) -> str:
    """The line for a refused privilege, naming it where the server's message does."""
    named = PRIVILEGE_NAMED.search(message)
    privilege = next(group for group in named.groups() if group) if named else needed
    lacks = f"lacks the {privilege.upper()} privilege" if privilege else "has no privilege"
    return (
        f"user {config.user!r} {lacks} on database {config.database} ({message}); "
        "docs/privileges.md lists the grant each script needs"
    )


def _get_lock(cursor: Any, name: str, wait: int) -> bool:
    # fetchall, not fetchone: 8.0.33 leaves the end of a one-row result unread.
    cursor.execute("SELECT GET_LOCK(%s, %s)", (name, wait))
    return bool(cursor.fetchall()[0][0])


def _wait_for_lock(cursor: Any, name: str, wait: int, io_timeout: int) -> bool:
    """GET_LOCK for up to ``wait`` s, in calls that each end within the read timeout.

    One GET_LOCK(name, 600) would outlast the read timeout, and the driver
    would then drop a healthy connection as lost.
    """
    deadline = time.monotonic() + wait
    step = min(LOCK_STEP, io_timeout - 1)  # config keeps io_timeout >= 2
    while (left := deadline - time.monotonic()) > 0:
        if _get_lock(cursor, name, max(1, min(step, math.ceil(left)))):
            return True
    return False


def _client_side(errno: int | None) -> bool:
    # The driver gives its own errors without a number errno -1.
    return errno is None or errno < 1000 or errno in CLIENT_ERRORS


def _connected(connection: Connection) -> bool:
    try:
        return bool(connection.is_connected())
    except DRIVER_ERRORS:
        return False


MYSQL = MySQLBackend()


# ------------------------------------------------------------------ asyncio
# The asyncio side of this backend (prodev.aio uses it): the driver's own
# asyncio API, mysql.connector.aio, which arrived in 8.3 and is pure Python.

CLIENT_SSL = 0x0800  # the greeting's capability flag: the server offers TLS
GREETING_V10 = 10  # protocol version byte of a server's greeting (not an error packet)


class MySQLAsync:
    """Connect, read and close with mysql.connector.aio, rows as the sync path reads them.

    Two facts of the driver shape it:

    - TLS. The driver prefers TLS, as the sync one does, and goes on in plain
      text when the server offers none; but then (9.x) its post-connect
      check unpacks the cipher of a TLS session that never began and raises
      ``TypeError`` after authenticating, leaving that session open. So the
      server's greeting is read first (its capability flags say whether it
      offers TLS), and TLS is switched off only for a server that offers
      none, which is what the sync driver's preference gives too. A server
      that offers TLS gets a TLS session. A caller who requires TLS passes
      the driver's ``ssl_verify_cert=True`` (with ``ssl_ca``): then nothing
      is switched off, and a server without TLS is the driver's one-line
      2026 error ("SSL is required"), never plain text.
    - Reading. ``async for`` over its cursors fails in some releases
      (``__aiter__`` is a coroutine in 9.1 and 26.10), so rows are read with
      ``fetchmany``.
    """

    def __init__(self, backend: MySQLBackend) -> None:
        self.backend = backend

    @staticmethod
    def driver() -> Any:
        """The driver's asyncio module, or SetupError on a release without one."""
        try:
            import mysql.connector.aio as aio
        except ImportError:
            raise SetupError(
                f"mysql-connector-python {mysql.connector.__version__} has no asyncio API "
                "(mysql.connector.aio came in 8.3): pip install 'mysql-connector-python>=8.3'"
            ) from None
        return aio

    async def connect(self, config: Config, **tls: Any) -> Connection:
        """A connection to the configured database on the first server that answers."""
        aio = self.driver()
        *others, last = config.hosts
        for host, port in others:
            try:
                return await self._open(aio, config, host, port, tls)
            except SetupError as error:
                if getattr(error.__cause__, "errno", None) not in UNREACHABLE | LOST:
                    raise
        return await self._open(aio, config, *last, tls)

    async def _open(
        self, aio: Any, config: Config, host: str, port: int, tls: dict[str, Any]
    ) -> Connection:
        with self.backend.errors():
            if not tls and not await offers_tls(host, port):
                tls = {"ssl_disabled": True}
            return await open_uncancelled(self._connect(aio, config, host, port, tls), self.close)

    @staticmethod
    async def _connect(aio: Any, config: Config, host: str, port: int, tls: dict) -> Connection:
        return await aio.connect(
            host=host,
            port=port,
            user=config.user,
            password=config.password,
            database=config.database,
            charset="utf8mb4",
            connection_timeout=CONNECT_TIMEOUT,
            converter_class=AgeConverter,
            **tls,
        )

    async def execute(self, connection: Connection, sql: str, params: tuple = ()) -> Any:
        """A dictionary cursor that has run ``sql``; its rows are still on the server."""
        with self.backend.errors():
            cursor = await connection.cursor(dictionary=True)
            await cursor.execute(sql, params)
        return cursor

    async def fetchmany(self, cursor: Any, size: int) -> list[dict]:
        """Up to ``size`` more rows of ``cursor``."""
        with self.backend.errors():
            return list(await cursor.fetchmany(size))

    async def close(self, connection: Connection) -> None:
        """Close at once: with rows unread, drop the socket (``shutdown``) so
        the server ends the query, instead of reading the rest; never raises."""
        try:
            if connection.unread_result:
                await connection.shutdown()
            else:
                await connection.close()
        except (*DRIVER_ERRORS, OSError):
            pass  # the socket is already gone: nothing is left to release


async def offers_tls(host: str, port: int) -> bool:
    """Does the server at ``host:port`` offer TLS? Read from its greeting.

    A server that does not greet (an error packet: too many connections,
    host blocked) answers True, so that the real connection reports why.
    Raises the driver's 2003 error when nothing answers.
    """
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), CONNECT_TIMEOUT
        )
    except (OSError, asyncio.TimeoutError) as error:  # noqa: UP041 (3.10: not TimeoutError)
        raise mysql.connector.errors.InterfaceError(
            f"Can't connect to MySQL server on {host}:{port} ({error})", errno=2003
        ) from error
    try:
        header = await asyncio.wait_for(reader.readexactly(4), CONNECT_TIMEOUT)
        greeting = await reader.readexactly(int.from_bytes(header[:3], "little"))
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):  # noqa: UP041
        return True
    finally:
        writer.transport.abort()
    if greeting[0] != GREETING_V10:
        return True
    # version string, NUL, thread id (4), scramble (8), filler (1), flags (2)
    flags_at = greeting.index(b"\0", 1) + 1 + 4 + 8 + 1
    return bool(int.from_bytes(greeting[flags_at : flags_at + 2], "little") & CLIENT_SSL)


MYSQL.aio = MySQLAsync(MYSQL)

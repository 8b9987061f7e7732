"""Opening and closing connections, on whichever engine the settings choose.

``DB_ENGINE=mysql`` talks to the MySQL-protocol server(s) configured,
trying each address in order. ``DB_ENGINE=sqlite`` uses the embedded SQLite
file. ``DB_ENGINE=auto`` (the default) uses MySQL when a server answers and
falls back to SQLite, with a one-line notice, only when nothing answers:
a server that answers and refuses (bad password, missing privilege) is an
error, never a reason to switch engines silently.

This is also the one place that turns the driver's errors into one-line
``SetupError`` messages without the password.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mysql.connector

from prodev import mysql_engine
from prodev.config import Config, load_config
from prodev.errors import ConnectionLost, SetupError
from prodev.mysql_engine import LOST, UNREACHABLE
from prodev.schema import unusable_table
from prodev.sqlite_engine import SQLiteConnection

# Unknown column (1054), no such table (1146): the table is not the one
# seed.py creates, and the fix is the user's, not a traceback's.
UNUSABLE_TABLE = {1054, 1146}

Connection = Any  # a mysql.connector connection or an SQLiteConnection


def engine_of(connection: Connection) -> str:
    """``"sqlite"`` or ``"mysql"``: which engine ``connection`` talks to."""
    return "sqlite" if isinstance(connection, SQLiteConnection) else "mysql"


def open_connection(database: bool = True) -> Connection:
    """Open a connection as the settings say, or raise SetupError.

    With ``database`` the connection uses the configured database
    (ALX_prodev); without, it selects none, as ``connect_db`` needs.
    """
    config = load_config()
    if config.engine == "sqlite" or (config.engine == "auto" and _nothing_answers(config)):
        return SQLiteConnection(config)
    try:
        return _open_mysql(config, database)
    except mysql.connector.Error as error:
        raise SetupError(_explain(error, config)) from None


@functools.cache
def _nothing_answers(config: Config) -> bool:
    """Probe once per configuration, so that a run prints one notice, not one a connection."""
    try:
        close_connection(_open_mysql(config, database=False))
    except mysql.connector.Error as error:
        if error.errno not in UNREACHABLE:
            return False  # it answered: the real connection will report what it said
        print(
            f"notice: no MySQL server answers at {config.address}; using SQLite file "
            f"{config.sqlite_path} (set DB_ENGINE=mysql to require MySQL)",
            file=sys.stderr,
        )
        return True
    return False


def _open_mysql(config: Config, database: bool) -> Connection:
    """Connect to the first of the configured servers that answers."""
    *others, last = config.hosts
    for host, port in others:
        try:
            return _connect(config, host, port, database)
        except mysql.connector.Error as error:
            # A node that is down refuses (2003) or, while dying, drops the
            # handshake (2013): either way, the next server may answer.
            if error.errno not in UNREACHABLE | LOST:
                raise
    return _connect(config, *last, database)


def _connect(config: Config, host: str, port: int, database: bool) -> Connection:
    try:
        return mysql_engine.connect(config, host, port, database)
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


def close_connection(connection: Connection) -> None:
    """Close ``connection`` at once, without reading rows nobody asked for."""
    if isinstance(connection, SQLiteConnection):
        connection.close()
    else:
        mysql_engine.abandon(connection)


@contextmanager
def prodev_connection() -> Iterator[Connection]:
    """A connection to the configured database, closed on exit however it ends.

    Raises SetupError (one clear line) when no connection can be made, and
    ConnectionLost when the server goes away while the connection is in use.
    """
    connection = open_connection(database=True)
    try:
        yield connection
    except mysql.connector.Error as error:
        # Between queries the driver notices a dead socket only as
        # "Connection not available", without an errno: ask the connection.
        if error.errno in LOST or not connection.is_connected():
            raise ConnectionLost(f"lost the connection to MySQL: {error.msg}") from error
        if error.errno in UNUSABLE_TABLE:
            where = f"database {load_config().database}"
            raise SetupError(unusable_table(where, error.msg)) from None
        raise
    finally:
        close_connection(connection)


def check_server() -> None:
    """Raise SetupError unless the configured engine accepts a connection."""
    close_connection(open_connection(database=False))

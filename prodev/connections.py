"""Opening and closing connections, on whichever engine the settings choose.

``DB_ENGINE=mysql`` talks to the MySQL-protocol server(s) configured,
trying each address in order. ``DB_ENGINE=sqlite`` uses the embedded SQLite
file. ``DB_ENGINE=auto`` (the default) uses MySQL when a server answers and
falls back to SQLite, with a one-line notice, only when nothing answers.
What differs per engine lives in ``prodev.backends``; every driver error
leaves through the backend's funnel as one line without the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prodev.backends import Connection, chosen, errors_of
from prodev.config import load_config

__all__ = [
    "Connection",
    "check_server",
    "close_connection",
    "describe",
    "open_connection",
    "prodev_connection",
]


def open_connection(database: bool = True, create: bool = False) -> Connection:
    """Open a connection as the settings say, or raise SetupError.

    With ``database`` the connection uses the configured database
    (ALX_prodev); without, it selects none, as ``connect_db`` needs. Only
    with ``create`` (seeding) may the SQLite file be created.
    """
    config = load_config()
    return chosen(config).connect(config, database, create)


def close_connection(connection: Connection) -> None:
    """Close ``connection`` at once, without reading rows nobody asked for."""
    connection.backend.close(connection)


@contextmanager
def prodev_connection(create: bool = False) -> Iterator[Connection]:
    """A connection to the configured database, closed on exit however it ends.

    Raises SetupError (one clear line) when no connection can be made, and
    ConnectionLost when the server goes away while the connection is in use.
    An SQLite file that does not exist is created only with ``create``.
    """
    connection = open_connection(database=True, create=create)
    try:
        with errors_of(connection):
            yield connection
    finally:
        close_connection(connection)


def check_server(create: bool = False) -> None:
    """Raise SetupError unless the configured engine accepts a connection."""
    close_connection(open_connection(database=False, create=create))


def describe() -> str:
    """Which driver serves, and which path its rows take, for ``main.py --version``."""
    return chosen(load_config()).describe()

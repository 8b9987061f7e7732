#!/usr/bin/env python3
"""Task 0: create ALX_prodev, create user_data and seed it from a CSV file.

The curriculum's five helpers, in the order its driver calls them:
``connect_db``, ``create_database``, ``connect_to_prodev``, ``create_table``
and ``insert_data``. A connection that cannot be made is reported in one
line and returned as ``None``, because the driver tests ``if connection:``.

Run ``python3 seed.py [CSV]`` to do all of it and print one summary line
(default file: user_data.csv beside this script).

The lessons (the numbered files) get their connections here too, from
``prodev_connection()``, and never need to know which engine answers: the
machinery lives in the ``prodev`` package. Importing this module installs
one process-wide behaviour the curriculum's drivers need, documented in
``prodev.curriculum``: an uncaught ``SetupError`` prints one line, not a
traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from prodev import curriculum, schema
from prodev.bulkload import LoadResult, load_users
from prodev.config import ROOT, check_size, check_user_id, load_config
from prodev.connections import (
    Connection,
    check_server,
    close_connection,
    open_connection,
    prodev_connection,
)
from prodev.csvfile import user_id_for
from prodev.errors import ConnectionLost, SetupError, printable, report

__all__ = [
    "DEFAULT_CSV",
    "Connection",
    "ConnectionLost",
    "LoadResult",
    "SetupError",
    "check_server",
    "check_size",
    "check_user_id",
    "connect_db",
    "connect_to_prodev",
    "create_database",
    "create_table",
    "insert_data",
    "main",
    "prodev_connection",
    "seed",
    "user_id_for",
]

DEFAULT_CSV = ROOT / "user_data.csv"

curriculum.one_line_errors()


def connect_db() -> Connection | None:
    """Connect to the server, no database selected; ``None`` if that fails."""
    return _connect_or_none(database=False)


def create_database(connection: Connection) -> None:
    """Create the configured database (ALX_prodev) if it does not exist."""
    connection.backend.create_database(connection, load_config().database)


def connect_to_prodev() -> Connection | None:
    """Connect to the configured database (ALX_prodev); ``None`` on failure."""
    return _connect_or_none(database=True)


def create_table(connection: Connection) -> None:
    """Create user_data if it does not exist; print the contract's line."""
    connection.backend.create_table(connection)
    print(f"Table {schema.TABLE} created successfully")


def insert_data(
    connection: Connection, data: str | os.PathLike[str]
) -> LoadResult:
    """Insert the users of CSV file ``data`` that are not already in user_data.

    All or nothing: a bad row, a lost server or an interrupt leaves the
    table as it was (see ``prodev.bulkload``).
    """
    return load_users(connection, Path(data))


def _connect_or_none(database: bool) -> Connection | None:
    """Connect, or report why not on one line and return ``None``."""
    try:
        return open_connection(database, create=True)
    except SetupError as error:
        report(error)
        return None


def seed(path: Path) -> LoadResult:
    """Create the database and the table, then load ``path``."""
    connection = open_connection(database=False, create=True)
    try:
        create_database(connection)
    finally:
        close_connection(connection)
    with prodev_connection(create=True) as connection:
        create_table(connection)
        return insert_data(connection, path)


def main(argv: list[str] | None = None) -> int:
    """``seed.py [CSV]``: seed user_data and print one summary line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or args[:1] in (["-h"], ["--help"]):
        print(
            "usage: seed.py [CSV]  (default: user_data.csv beside seed.py)",
            file=sys.stderr,
        )
        return 2
    path = Path(args[0]) if args else DEFAULT_CSV
    started = time.perf_counter()
    try:
        result = seed(path)
    except SetupError as error:
        report(error)
        return 1
    except KeyboardInterrupt:  # insert_data has rolled back
        interrupted = f"seed: {path.name}: interrupted, nothing committed"
        print(interrupted, file=sys.stderr)
        return 130  # as a shell reports a command ended by Ctrl-C
    elapsed = time.perf_counter() - started
    print(
        f"seed: {printable(path.name)}: {result.read} rows read, "
        f"{result.inserted} inserted, {result.present} already present "
        f"({elapsed:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

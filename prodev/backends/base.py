"""What every backend offers, and the parts the two engines share.

A backend is the one object that knows an engine: how to connect, the SQL
that is not portable, how its driver fails and what each failure means to a
user. The rest of the package asks the connection's backend
(``connection.backend``) and never names an engine or a driver's exception
class, as Django's ORM asks ``connection.features`` and ``connection.ops``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from decimal import Decimal
from functools import wraps
from typing import Any, NamedTuple, TypeVar

from prodev.config import Config

Connection = Any  # a driver connection (or the SQLite stand-in) with a .backend
Function = TypeVar("Function", bound=Callable[..., Any])


def exact_number(text: bytes) -> int | Decimal:
    """A DECIMAL value as read from either engine: ``int`` if whole, else ``Decimal``.

    Ages then print as ``67`` rather than ``Decimal('67.00')``, and 30.5 as
    ``Decimal('30.5')`` on both engines (MySQL's DECIMAL(5, 2) pads it to 30.50).
    """
    whole, _, fraction = text.partition(b".")
    if not fraction.strip(b"0"):  # nearly every age: skip Decimal when we can
        return int(whole)
    return Decimal(text.decode()).normalize()


class Column(NamedTuple):
    """What the layout check needs to know about one existing column."""

    declared: str  # the type as the table declares it, for messages
    kind: str  # MySQL: the DATA_TYPE; SQLite: the column's affinity
    length: int  # characters a text column holds (0: not text)
    charset: str  # MySQL text columns: the character set
    precision: int  # DECIMAL: total digits
    scale: int  # DECIMAL: digits after the point
    key: bool  # the column is the whole primary key


def funnelled(method: Function) -> Function:
    """Run a backend method taking a connection inside the backend's error funnel."""

    @wraps(method)
    def run(self: Backend, connection: Connection, *args: Any, **kwargs: Any) -> Any:
        with self.errors(connection):
            return method(self, connection, *args, **kwargs)

    return run  # type: ignore[return-value]


class Backend:
    """One engine: subclasses fill in each method."""

    # The SQL that is not portable: an INSERT that skips rows whose key is
    # already there, user_data's CREATE TABLE, a query counting the triggers
    # called %s.
    insert_ignore = table_sql = has_trigger_sql = ""
    # The follower's log (prodev.follow): the statements that create its
    # tables, head row and boundary entry if they are not there, then its
    # trigger; and a query giving a table's (column count, whether one of
    # its columns is called %s), for table %s.
    log_tables_sql: tuple[str, ...] = ()
    log_trigger_sql = columns_of_sql = ""
    can_load_data = False  # LOAD DATA LOCAL INFILE, where the server allows it
    # The asyncio side (prodev.aio): connect, execute, fetchmany, close, as
    # coroutines; each backend module sets its own.
    aio: Any = None

    def describe(self) -> str:
        """One line: the driver and the path its rows take."""
        raise NotImplementedError

    def connect(self, config: Config, database: bool, create: bool = False) -> Connection:
        """A new connection (to the configured database, or none), or SetupError.

        Only with ``create`` may an embedded engine create its database file:
        seeding does, a reader never leaves an empty file behind.
        """
        raise NotImplementedError

    def close(self, connection: Connection) -> None:
        """Close at once, without reading rows nobody asked for; never raises."""
        raise NotImplementedError

    def errors(
        self, connection: Connection | None = None, privilege: str = ""
    ) -> AbstractContextManager[None]:
        """The funnel: inside it, every driver error leaves as a one-line SetupError.

        ConnectionLost when the connection is gone, TryAgain when the
        transaction lost a lock wait or a deadlock and was rolled back;
        ``privilege`` names what the statements inside need, for a refusal
        that does not say.
        """
        raise NotImplementedError

    def create_database(self, connection: Connection, name: str) -> None:
        """Create database ``name`` (an identifier, validated) if it does not exist."""
        raise NotImplementedError

    @funnelled
    def create_table(self, connection: Connection) -> None:
        """Create user_data if it does not exist, and commit."""
        with connection.cursor() as cursor:
            cursor.execute(self.table_sql)
        connection.commit()

    def columns(self, connection: Connection) -> dict[str, Column]:
        """user_data's columns by lower-case name; empty if there is no table."""
        raise NotImplementedError

    def column_problem(self, name: str, column: Column) -> str | None:
        """Why ``column`` cannot hold every valid value of ``name``, or None."""
        raise NotImplementedError

    def column_fix(self, name: str, column: Column | None) -> str:
        """An ALTER TABLE that would fix the column, or "" if recreating is the fix."""
        raise NotImplementedError

    @funnelled
    def has_trigger(self, connection: Connection, name: str) -> bool:
        """Is there a trigger called ``name`` in the database?"""
        with connection.cursor() as cursor:
            cursor.execute(self.has_trigger_sql, (name,))
            (count,) = cursor.fetchall()[0]
        connection.commit()
        return bool(count)

    def create(self, cursor: Any, statement: str) -> None:
        """Run a CREATE; one that another session ran first is not an error."""
        raise NotImplementedError

    def read_committed(self, connection: Connection) -> None:
        """Make the session read committed data without gap locks, where that exists."""
        raise NotImplementedError

    def local_file_problem(self, path: str) -> str | None:
        """Why the driver could not load the local file ``path``, or None.

        Asked only of a backend that ``can_load_data``.
        """
        raise NotImplementedError

    def load_lock(
        self, connection: Connection, name: str, wait: int
    ) -> AbstractContextManager[None]:
        """Hold the lock called ``name`` for the block, waiting up to ``wait`` s."""
        raise NotImplementedError


async def open_uncancelled(
    opening: Coroutine[Any, Any, Connection], close: Callable[[Connection], Awaitable[None]]
) -> Connection:
    """Await ``opening`` (an async connect); if the caller is cancelled meanwhile,
    let the connect finish, ``close`` what it made, and re-raise the cancellation.

    A connect cancelled half-way leaves its half-made connection behind: the
    MySQL driver's cleanup catches ``Exception``, not the cancellation, and
    aiosqlite's thread finishes the connect anyway and then posts its result
    to a loop that may have closed by then (a traceback on stderr).
    """
    task = asyncio.ensure_future(opening)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await close(await task)
        raise

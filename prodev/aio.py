"""Rows for asyncio: what lesson 8's async generators need, on either engine.

``query(sql, params)`` is an async context manager: it opens a connection
through the asyncio side of the configured backend (``backend.aio``: the
driver's own asyncio API for MySQL, aiosqlite for SQLite), runs ``sql``, and
gives a ``Rows`` whose ``fetchmany(size)`` returns the next rows as user
dicts. Leaving the block closes the connection at once, without reading
the rows nobody asked for, however the block ends: the rows ran out, an
error, the generator around it closed (``aclose()``, or a ``break`` out of
its ``async for``, after which asyncio closes it on the loop's next turn),
or its task cancelled (``task.cancel()``, ``asyncio.timeout``). Driver errors
leave as the backend's one-line ``SetupError`` or ``ConnectionLost``, and
importing this module makes an uncaught one print as that line
(``prodev.curriculum``), as importing ``seed`` does.

A turn for the loop after every batch. An await whose data is already
buffered returns without suspending, so a loop of ``fetchmany`` on a fast
socket can hold the event loop through many batches (a 10 ms ticker lagged
66 ms at p99 that way). ``fetchmany`` ends with ``await asyncio.sleep(0)``,
which lets every other ready task run before the next batch is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from prodev import curriculum
from prodev.backends import chosen
from prodev.config import check_size, load_config
from prodev.errors import SetupError

__all__ = ["CHUNK", "USERS", "Rows", "check_size", "first", "mean", "query"]

CHUNK = 100  # rows a trip when a query's rows are iterated one by one
USERS = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"

# The lesson's entry point prints a SetupError as one line, as seed's do.
curriculum.one_line_errors()


class Rows:
    """The rows of one query: ``fetchmany(size)``, or ``async for`` one by one.

    Iteration fetches CHUNK rows at a time, so that a row costs one trip
    through the driver per chunk, not per row; memory holds one chunk.
    """

    def __init__(self, streams: Any, cursor: Any) -> None:
        self._streams = streams
        self._cursor = cursor

    async def fetchmany(self, size: int) -> list[dict]:
        """The next ``size`` rows at most (``[]`` at the end), then a loop turn."""
        rows = await self._streams.fetchmany(self._cursor, size)
        await asyncio.sleep(0)  # see the module docstring: never hog the loop
        return rows

    async def __aiter__(self) -> AsyncIterator[dict]:
        """Yield each row, fetched CHUNK at a time."""
        while chunk := await self.fetchmany(CHUNK):
            for row in chunk:
                yield row


async def first(items: AsyncGenerator[Any, None], default: Any = ()) -> Any:
    """The first item of ``items`` (``default`` if none), then ``items`` is closed."""
    try:
        return await anext(items)
    except StopAsyncIteration:  # not anext(items, default): it hit a SystemError on 3.11.7
        return default
    finally:
        await items.aclose()


def mean(total: int | Decimal, count: int) -> Decimal:
    """``total / count`` exactly, as a Decimal (it formats with ``:.2f``).

    SetupError when ``count`` is 0: an empty table has no average.
    """
    if not count:
        raise SetupError("user_data is empty, so there is no average age: run ./seed.py first")
    return Decimal(total) / count


@asynccontextmanager
async def query(sql: str, params: tuple = ()) -> AsyncIterator[Rows]:
    """Run ``sql`` on a new connection; closed on exit, unread rows unread."""
    config = load_config()
    streams = chosen(config).aio
    connection = await streams.connect(config)
    try:
        yield Rows(streams, await streams.execute(connection, sql, params))
    finally:
        await streams.close(connection)

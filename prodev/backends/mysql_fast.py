"""The fast path: every use of mysql-connector-python's private internals, in one place.

With the C extension, a row can skip the driver's per-row Python layer:
fetched raw, each column is converted by one reader in a loop that runs in C;
iteration fetches growing chunks; an early close drops the C handle instead
of reading the rest of a result. None of this is public API, so it engages
only where the driver offers each piece it relies on: ``OFFERED`` is checked
when this module loads (the C extension loads and has the attributes and
signatures used below), and ``prodev.backends.mysql`` reads a probe row
through it at the first connection. Where either check fails, the public
API serves the same rows; no driver version makes this import fail.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

import mysql.connector
from mysql.connector.constants import FieldType
from mysql.connector.conversion import MySQLConverter

from prodev.backends.base import exact_number

TEXTS, BINARY = {FieldType.VAR_STRING, FieldType.STRING, FieldType.VARCHAR}, 63  # 63: bytes
DECIMALS_REMEMBERED = 10_000  # distinct DECIMAL values cached per connection
GET_ROWS = ["self", "count", "binary", "columns", "raw", "prep_stmt"]  # the order the hook uses
HANDLE = ("raw", "fetch_row", "close")  # what the hooks call on the C handle
CONNECTION = ("fetch_eof_columns", "free_result", "python_charset", "unread_result")


def _offered() -> bool:
    if not getattr(mysql.connector, "HAVE_CEXT", False):
        return False
    try:
        from _mysql_connector import MySQL
        from mysql.connector.connection_cext import CMySQLConnection
        from mysql.connector.cursor_cext import CMySQLCursor
    except ImportError:
        return False
    parameters = list(inspect.signature(CMySQLConnection.get_rows).parameters)
    return (
        parameters[: len(GET_ROWS)] == GET_ROWS
        and all(hasattr(MySQL, name) for name in HANDLE)
        and all(hasattr(CMySQLConnection, name) for name in CONNECTION)
        and hasattr(CMySQLCursor, "fetchmany")
    )


OFFERED = _offered()
ERRORS: tuple[type[Exception], ...] = ()  # the C extension's own error class, if it loads
if OFFERED:
    # The C extension's commit() and rollback() raise its own error class,
    # not a mysql.connector.Error: the funnel must catch both.
    from _mysql_connector import MySQLInterfaceError
    from mysql.connector.connection_cext import CMySQLConnection
    from mysql.connector.cursor_cext import CMySQLCursor
    from mysql.connector.errors import get_mysql_exception

    ERRORS = (MySQLInterfaceError,)

    class ExactNumbers(dict):
        """exact_number of each DECIMAL text read, remembered for the connection.

        A column of ages holds few distinct values, and a dict lookup costs a
        fraction of a conversion; bounded, so that odd data cannot grow it.
        """

        def __missing__(self, text: bytes) -> int | Decimal:
            value = exact_number(text)
            if len(self) < DECIMALS_REMEMBERED:
                self[text] = value
            return value

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

    class FastConnection(CMySQLConnection):
        """The C extension's connection: rows fetched raw, then text decoded,
        DECIMAL read with exact_number, other types by the driver's converter;
        the streaming cursors above handed out by every plain cursor() call."""

        _readers: tuple[Any, list] = (None, [])

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

        def get_rows(self, count=None, binary=False, columns=None, raw=None, prep_stmt=None, **kw):
            if binary or prep_stmt or (self._raw if raw is None else raw) or not self.unread_result:
                return super().get_rows(count, binary, columns, raw, prep_stmt, **kw)
            if self._readers[0] is not self._columns:  # a new result set
                self._readers = (self._columns, [self._reader(column) for column in self._columns])
            readers = self._readers[1]
            self._cmysql.raw(True)
            try:
                fetched = list(islice(iter(self._cmysql.fetch_row, None), count))
            except MySQLInterfaceError as error:  # reported as the driver's get_rows does
                self.free_result()
                raise get_mysql_exception(error.errno, error.msg, error.sqlstate) from error
            # Column by column, so that every loop runs in C: no bytecode per row.
            values = [map(read, map(itemgetter(i), fetched)) for i, read in enumerate(readers)]
            rows = list(zip(*values, strict=True))
            if count is not None and len(rows) == count:
                return rows, None  # the result may go on
            eof = self.fetch_eof_columns()["eof"]
            self.free_result()
            return rows, eof

        def _reader(self, column: tuple) -> Any:
            kind, nullable, collation = column[1], column[6], column[8]
            if kind in (FieldType.DECIMAL, FieldType.NEWDECIMAL):
                read = self.read_decimal
            elif kind in TEXTS and collation != BINARY:
                read = partial(bytes.decode, encoding=self.python_charset)
                if self.python_charset == "utf8":  # utf8mb4: bytes.decode's default
                    read = bytes.decode
            else:
                return partial(MySQLConverter(self.python_charset).to_python, column)
            return (lambda value: None if value is None else read(value)) if nullable else read


def abandon(connection: Any) -> None:
    """Drop the C handle's socket at once: the public close() reads the rest first."""
    connection._cmysql.close()

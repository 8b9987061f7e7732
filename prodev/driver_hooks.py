"""Every use of mysql-connector-python's private internals, in one place.

Written for mysql-connector-python 9.7.0 (pinned in requirements.txt); under
any other version importing this raises: review each hook, then DRIVER_VERSION.
"""

from functools import partial
from itertools import islice
from operator import itemgetter
from typing import Any

import mysql.connector
from mysql.connector.constants import FieldType
from mysql.connector.conversion import MySQLConverter

DRIVER_VERSION = "9.7.0"
if mysql.connector.__version__ != DRIVER_VERSION:
    raise ImportError(
        f"prodev/driver_hooks.py was written for mysql-connector-python {DRIVER_VERSION}, "
        f"found {mysql.connector.__version__}: install requirements.txt, or review the hooks"
    )
TEXTS, BINARY = {FieldType.VAR_STRING, FieldType.STRING, FieldType.VARCHAR}, 63  # 63: bytes


def abandon(connection: Any) -> None:
    """Drop the socket at once; the C extension's public close() reads the rest first."""
    handle = getattr(connection, "_cmysql", None)
    handle.close() if handle is not None else connection.shutdown()


class DecimalConverter(MySQLConverter):
    """Pure Python driver: DECIMAL values read with the subclass's read_decimal."""

    def _decimal_to_python(self, value: bytes, desc: Any = None) -> Any:
        return self.read_decimal(value)

    _newdecimal_to_python = _decimal_to_python


if mysql.connector.HAVE_CEXT:
    from _mysql_connector import MySQLInterfaceError

    # The C extension's commit() and rollback() raise its own error class,
    # not a mysql.connector.Error: a lost server or a lost certification
    # surfaces there, so code that catches driver errors catches both.
    DRIVER_ERRORS: tuple[type[Exception], ...] = (mysql.connector.Error, MySQLInterfaceError)
    from mysql.connector.connection_cext import CMySQLConnection
    from mysql.connector.errors import get_mysql_exception

    class ConvertingConnection(CMySQLConnection):
        """C extension: rows fetched raw, then text decoded, DECIMAL read with the
        subclass's read_decimal, other types by the driver's converter."""

        _readers: tuple[Any, list] = (None, [])

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
else:
    DRIVER_ERRORS = (mysql.connector.Error,)

"""The database and its one table, user_data, on both engines.

``user_id`` is a UUID string and the primary key; rows are stored (and a
plain ``SELECT *`` lists them) in user_id order on both engines. Ages are
DECIMAL(5, 2) and read back as ``int`` when whole, else as an exact
``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from prodev.errors import SetupError

TABLE = "user_data"
NAME_MAX = EMAIL_MAX = 255  # characters, as in the VARCHAR(255) columns

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


def exact_number(text: bytes) -> int | Decimal:
    """A DECIMAL value as read from either engine: ``int`` if whole, else ``Decimal``.

    Ages then print as ``67`` rather than ``Decimal('67.00')``, and 30.5 as
    ``Decimal('30.5')`` on both engines (MySQL's DECIMAL(5, 2) pads it to 30.50).
    """
    whole, _, fraction = text.partition(b".")
    if not fraction.strip(b"0"):  # nearly every age: skip Decimal when we can
        return int(whole)
    return Decimal(text.decode()).normalize()


def create_database(connection: object, engine: str, database: str) -> None:
    """Create ``database`` on a MySQL server if it does not exist.

    ``database`` must already be validated as an identifier (config does);
    an SQLite file is its own database, so there is nothing to create.
    """
    if engine == "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")


def create_table(connection: object, engine: str) -> None:
    """Create user_data if it does not exist, and commit."""
    with connection.cursor() as cursor:
        cursor.execute(SQLITE_TABLE if engine == "sqlite" else MYSQL_TABLE)
    connection.commit()


class Column(NamedTuple):
    """What the layout check needs to know about one existing column."""

    declared: str  # the type as the table declares it, for messages
    kind: str  # MySQL: the DATA_TYPE; SQLite: the column's affinity
    length: int  # characters a text column holds (0: not text)
    charset: str  # MySQL text columns: the character set
    precision: int  # DECIMAL: total digits
    scale: int  # DECIMAL: digits after the point
    key: bool  # the column is the whole primary key


# How user_data's columns are declared on MySQL: the fix a refusal suggests.
MYSQL_COLUMNS = {
    "user_id": "user_id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY",
    "name": f"name VARCHAR({NAME_MAX}) CHARACTER SET utf8mb4 NOT NULL",
    "email": f"email VARCHAR({EMAIL_MAX}) CHARACTER SET utf8mb4 NOT NULL",
    "age": "age DECIMAL(5, 2) NOT NULL",
}
MYSQL_TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
AGE_DIGITS = (3, 2)  # digits before and after the point: 0 to 999.99


def unusable_table(where: str, reason: str) -> str:
    """The one line for a query that met a user_data without the columns it reads."""
    return (
        f"table {TABLE} in {where} is not as the lessons need ({reason}): "
        f"drop it (DROP TABLE {TABLE}) and run seed.py to create it"
    )


def check_table(connection: Any, engine: str) -> None:
    """Refuse an existing user_data that could not hold every valid row exactly.

    A table created by hand (``age DECIMAL``, which is DECIMAL(10, 0), or
    ``name VARCHAR(20)``) would round ages and cut names without an error,
    because the load skips duplicates with IGNORE. Raises SetupError naming
    the first column that differs and how to fix it; returns if all is well.
    """
    columns = _sqlite_columns(connection) if engine == "sqlite" else _mysql_columns(connection)
    check_columns(columns, engine)


def check_columns(columns: dict[str, Column], engine: str) -> None:
    """check_table's verdict on a table's columns, as the engine describes them."""
    if not columns:
        raise SetupError(f"table {TABLE} does not exist: run seed.py to create it")
    for name in MYSQL_COLUMNS:
        column = columns.get(name)
        why = "is missing" if column is None else _mismatch(name, column, engine)
        if why:
            raise SetupError(f"table {TABLE}: column {name} {why}; {_fix(name, column, engine)}")


def _fix(name: str, column: Column | None, engine: str) -> str:
    recreate = f"drop the table (DROP TABLE {TABLE}) and run seed.py to create it"
    if engine == "sqlite":
        return recreate
    change = "ADD" if column is None else "MODIFY"
    return f"{recreate}, or ALTER TABLE {TABLE} {change} {MYSQL_COLUMNS[name]}"


def _mismatch(name: str, column: Column, engine: str) -> str | None:
    if name == "user_id":
        if not column.key:
            return "is not the primary key, so a re-run would insert every user again"
        if engine == "mysql" and column.length < 36:
            return f"is {column.declared}, too short for a UUID"
        return None
    if name == "age":
        if engine == "sqlite":
            if column.kind in ("TEXT", "BLOB"):
                return f"is {column.declared or 'untyped'}, so ages would be stored as text"
            return None
        before, after = AGE_DIGITS
        if column.kind != "decimal":
            return f"is {column.declared}, which does not store every age from 0 to 999.99 exactly"
        if column.scale < after or column.precision - column.scale < before:
            return f"is {column.declared}, which would round or refuse ages from 0 to 999.99"
        return None
    if engine == "sqlite":
        if column.kind not in ("TEXT", "BLOB"):
            return f"is {column.declared}, so a {name} such as 123 would be stored as a number"
        return None
    if column.kind not in MYSQL_TEXT:
        return f"is {column.declared}, not a text column"
    if column.length < NAME_MAX:
        return (
            f"is {column.declared}, which would cut values longer than {column.length} characters"
        )
    if column.charset != "utf8mb4":
        return (
            f"is {column.declared} in {column.charset}, which cannot hold every character (emoji)"
        )
    return None


def _mysql_columns(connection: Any) -> dict[str, Column]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,"
            " CHARACTER_OCTET_LENGTH, CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE,"
            " COLUMN_KEY"
            " FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            (TABLE,),
        )
        rows = cursor.fetchall()
    keys = sum(row[-1] == "PRI" for row in rows)
    return {
        str(name).lower(): Column(
            declared=str(declared),
            kind=str(kind).lower(),
            # A TINYTEXT holds 255 bytes: only 63 four-byte characters.
            length=min(length or 0, (octets or 0) // 4) if charset == "utf8mb4" else length or 0,
            charset=str(charset or ""),
            precision=int(precision or 0),
            scale=int(scale or 0),
            key=key == "PRI" and keys == 1,
        )
        for name, declared, kind, length, octets, charset, precision, scale, key in rows
    }


def _sqlite_columns(connection: Any) -> dict[str, Column]:
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

"""The database and its one table, user_data, on both engines.

``user_id`` is a UUID string and the primary key; rows are stored (and a
plain ``SELECT *`` lists them) in user_id order on both engines. Ages are
DECIMAL(5, 2) and read back as ``int`` when whole, else as an exact
``Decimal``.
"""

from __future__ import annotations

from decimal import Decimal

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

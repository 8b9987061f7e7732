"""The database and its one table, user_data, on both engines.

``user_id`` is a UUID string and the primary key; rows are stored (and a
plain ``SELECT *`` lists them) in user_id order on both engines. Ages are
DECIMAL(5, 2) and read back as ``int`` when whole, else as an exact
``Decimal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prodev.errors import SetupError

if TYPE_CHECKING:
    from prodev.backends.base import Backend, Column

TABLE = "user_data"
NAME_MAX = EMAIL_MAX = 255  # characters, as in the VARCHAR(255) columns

COLUMNS = ("user_id", "name", "email", "age")


# The follower's change log (prodev.follow): its two tables, whose names both
# start with LOG_TABLE, and its trigger. A query that fails on one of the
# tables (the trigger fires on every insert into user_data) is the log's
# problem, whose fix is to remove the log, never to drop user_data or to seed.
LOG_TABLE, LOG_HEAD, LOG_TRIGGER = "user_data_log", "user_data_log_head", "user_data_logged"
# A permanent entry with this position, and no user, sits in the pos index
# between the pending entries (pos = 0, where writers insert) and the
# positioned ones (where positioners insert), so that the two never insert
# into the same gap: on Galera the first positioning of a fresh log made the
# cluster abort a writer's transaction on another node there. Real positions
# start above it.
LOG_BOUNDARY = 1


def unusable_table(where: str, reason: str) -> str:
    """The one line for a query that met a user_data without the columns it reads."""
    if LOG_TABLE in reason:
        return broken_log(where, reason)
    return (
        f"table {TABLE} in {where} is not as the lessons need ({reason}): "
        f"drop it (DROP TABLE {TABLE}) and run seed.py to create it"
    )


def missing_table(where: str, reason: str) -> str:
    """The one line for a query that met no user_data (or no table it needs) at all."""
    if LOG_TABLE in reason:
        return broken_log(where, reason)
    return f"{where} has no table the lessons need ({reason}): run ./seed.py first"


def broken_log(where: str, reason: str) -> str:
    """The one line for a query that met the follower's log without a table or column."""
    return (
        f"the follower's log of {TABLE} in {where} is incomplete ({reason}): run "
        "python3 -m prodev.follow remove (user_data stays as it is; the next "
        "follower sets the log up again, from now)"
    )


def check_table(connection: Any) -> None:
    """Refuse an existing user_data that could not hold every valid row exactly.

    A table created by hand (``age DECIMAL``, which is DECIMAL(10, 0), or
    ``name VARCHAR(20)``) would round ages and cut names without an error,
    because the load skips duplicates with IGNORE. Raises SetupError naming
    the first column that differs and how to fix it; returns if all is well.
    """
    check_columns(connection.backend.columns(connection), connection.backend)


def check_columns(columns: dict[str, Column], backend: Backend) -> None:
    """check_table's verdict on a table's columns, as ``backend`` describes them."""
    if not columns:
        raise SetupError(f"table {TABLE} does not exist: run seed.py to create it")
    for name in COLUMNS:
        column = columns.get(name)
        if column is None:
            why = "is missing"
        elif name == "user_id" and not column.key:
            why = "is not the primary key, so a re-run would insert every user again"
        else:
            why = backend.column_problem(name, column)
        if why:
            fix = f"drop the table (DROP TABLE {TABLE}) and run seed.py to create it"
            if alter := backend.column_fix(name, column):
                fix = f"{fix}, or {alter}"
            raise SetupError(f"table {TABLE}: column {name} {why}; {fix}")

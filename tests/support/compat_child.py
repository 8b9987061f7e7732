"""Measurements taken inside one compatibility environment, printed as JSON.

Usage: ``VENV/bin/python compat_child.py FIGURE [FIGURE ...]``, run from the
project folder (the working directory is put first on ``sys.path``, as when a
driver script runs there), with the database in the environment exactly as
for the numbered scripts. It uses only the standard library, the driver and
the project, because the venv it runs in holds nothing else.

Figures (each a key of the printed object):

- ``info``: Python, driver version, whether its C extension loads, and the
  class of the connection the project opens (and whether it is the C one).
- ``early_stop``: the full ``stream_users()`` against the curriculum's
  ``islice(stream_users(), 6)`` (best of three, connection included), and
  what the early stop left behind: socket or database-file descriptors in
  this process, sessions on the server's database.
- ``stream``, ``ages``: the project's full stream and ``calculate_average_age()``.
- ``dict_cursor``, ``plain_ages``: the same reads on the driver's own plain
  ``cursor(dictionary=True)`` / ``cursor()``, same server, credentials,
  charset, and the implementation (C or pure) the project's connection uses.
- ``avg_sql``: ``SELECT AVG(age)`` on the driver, connection included.

Times are ``perf_counter`` seconds in this process, imports excluded.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import platform
import sys
import time
from itertools import islice

sys.path.insert(0, os.getcwd())

QUERY = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"
TAKE = 6  # rows the curriculum's driver takes
SETTLE = 5.0  # seconds a closed session may take to leave the server's list


def timed(action):  # type: ignore[no-untyped-def]
    """(seconds, result) of ``action()``."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def plain_connection(database: bool = True):  # type: ignore[no-untyped-def]
    """The driver's own connection, on the settings the project reads."""
    import mysql.connector

    options = {
        "host": os.environ.get("MYSQL_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MYSQL_PORT", "3306")),
        "user": os.environ.get("MYSQL_USER", "root"),
        "password": os.environ.get("MYSQL_PASSWORD", ""),
        "charset": "utf8mb4",
    }
    # The implementation the project's own connection uses, whatever the
    # driver's default: a comparison across implementations measures the driver.
    options["use_pure"] = not project_connection_classes()[1]
    if database:
        options["database"] = os.environ["MYSQL_DATABASE"]
    return mysql.connector.connect(**options)


def server_sessions() -> int:
    """Sessions on MYSQL_DATABASE other than this probe's own."""
    connection = plain_connection(database=False)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND ID <> CONNECTION_ID()",
            (os.environ["MYSQL_DATABASE"],),
        )
        return int(cursor.fetchone()[0])
    finally:
        connection.close()


def held_descriptors() -> list[str]:
    """This process's open sockets and SQLite files: what a stream could leave open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, closed by now
        if target.startswith("socket:") or ".sqlite3" in target:
            held.append(target)
    return sorted(held)


def info() -> dict:
    """What this environment is."""
    import mysql.connector

    try:
        import _mysql_connector  # noqa: F401  (the C extension: does it load here?)

        c_extension = True
    except ImportError:
        c_extension = False
    connection_class, c_in_use = project_connection_classes()
    return {
        "python": platform.python_version(),
        "driver": mysql.connector.__version__,
        "c_extension_loads": c_extension,
        "connection_class": connection_class,
        "c_extension_in_use": c_in_use,
    }


@functools.cache
def project_connection_classes() -> tuple[str, bool]:
    """The class of the connection the project opens, and whether it is the C extension's."""
    seed = importlib.import_module("seed")
    with seed.prodev_connection() as connection:
        classes = [kind.__name__ for kind in type(connection).__mro__]
    return classes[0], any(name.startswith("CMySQL") for name in classes)


def early_stop() -> dict:
    """Full stream against the driver's early stop, and what the stop left open."""
    stream_users = importlib.import_module("0-stream_users").stream_users
    mysql = os.environ.get("DB_ENGINE") == "mysql"
    sessions_before = server_sessions() if mysql else 0
    held_before = held_descriptors()

    def take() -> list:
        users = []
        for user in islice(stream_users(), TAKE):  # as 1-main.py does
            users.append(user)
        return users

    full, count = timed(lambda: sum(1 for _ in stream_users()))
    early, first = min((timed(take) for _ in range(3)), key=lambda pair: pair[0])
    held_after = held_descriptors()
    sessions_after = sessions_before
    if mysql:
        deadline = time.monotonic() + SETTLE
        while (sessions_after := server_sessions()) > sessions_before:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    return {
        "rows": count,
        "full_seconds": full,
        "early_seconds": early,
        "taken": len(first),
        "keys": list(first[0]) if first else [],
        "held_before": held_before,
        "held_after": held_after,
        "sessions_before": sessions_before,
        "sessions_after": sessions_after,
    }


def stream() -> dict:
    """The project's full stream."""
    stream_users = importlib.import_module("0-stream_users").stream_users
    seconds, rows = timed(lambda: sum(1 for _ in stream_users()))
    return {"seconds": seconds, "rows": rows}


def ages() -> dict:
    """The project's average, folded from its stream of ages."""
    calculate = importlib.import_module("4-stream_ages").calculate_average_age
    seconds, value = timed(calculate)
    return {"seconds": seconds, "value": f"{value:.2f}"}


def dict_cursor() -> dict:
    """The driver's own dictionary cursor over the same rows."""

    def read() -> int:
        connection = plain_connection()
        try:
            cursor = connection.cursor(dictionary=True)
            cursor.execute(QUERY)
            return sum(1 for _ in cursor)
        finally:
            connection.close()

    seconds, rows = timed(read)
    return {"seconds": seconds, "rows": rows}


def plain_ages() -> dict:
    """The driver's own plain cursor summing the ages, as the project's average does."""

    def read() -> str:
        connection = plain_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT age FROM user_data")
            count = total = 0
            for (age,) in cursor:
                count += 1
                total += age
            return f"{total / count:.2f}"
        finally:
            connection.close()

    seconds, value = timed(read)
    return {"seconds": seconds, "value": value}


def avg_sql() -> dict:
    """The server's own average, connection included."""

    def read() -> str:
        connection = plain_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT AVG(age) FROM user_data")
            return f"{cursor.fetchone()[0]:.2f}"
        finally:
            connection.close()

    seconds, value = timed(read)
    return {"seconds": seconds, "value": value}


FIGURES = {
    function.__name__: function
    for function in (info, early_stop, stream, ages, dict_cursor, plain_ages, avg_sql)
}


def main(names: list[str]) -> int:
    """Print ``{figure: result}`` for each figure named, in order."""
    unknown = [name for name in names if name not in FIGURES]
    if not names or unknown:
        print(f"usage: compat_child.py {{{','.join(FIGURES)}}} ...", file=sys.stderr)
        return 2
    print(json.dumps({name: FIGURES[name]() for name in names}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

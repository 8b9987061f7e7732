#!/usr/bin/env python3
"""The project's full stream as a ratio to the driver's own plain dictionary cursor.

Usage: ``python3 bench/path_ratio.py [--repeat N]`` with the database chosen
by the environment (``MYSQL_DATABASE`` holding a seeded user_data, e.g. 200k
rows from ``bench/make_data.py`` and ``seed.py``). ``MYSQL_USE_PURE=1``
measures the public API path on a driver whose C extension loads.

Three sides read ``SELECT user_id, name, email, age FROM user_data ORDER BY
user_id`` to the end, in the same process, alternating, on the driver
implementation the project uses: ``stream_users()`` from 0-stream_users.py;
``for row in cursor`` on ``mysql.connector.connect(...).cursor(dictionary=True)``
with the project's connection settings (utf8mb4, and the read/write timeouts
where the driver accepts them); and the same with the driver's defaults.
Prints one line: the path, each side's median, and the project's ratio to
each plain cursor. On the pure Python driver a read timeout puts the socket
in timeout mode, a poll() before every read: the third side shows its cost.
"""

import argparse
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mysql.connector

from prodev import connections
from prodev.backends.mysql import TIMEOUTS
from prodev.config import load_config

QUERY = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"


def plain_stream(pure: bool, **settings: object) -> int:
    """Every row through the driver's own dictionary cursor; returns the count."""
    config = load_config()
    (host, port), *_ = config.hosts
    connection = mysql.connector.connect(
        host=host,
        port=port,
        user=config.user,
        password=config.password,
        database=config.database,
        use_pure=pure,
        **settings,
    )
    cursor = connection.cursor(dictionary=True)
    cursor.execute(QUERY)
    count = sum(1 for _ in cursor)
    connection.close()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side (default 5)")
    repeat = parser.parse_args().repeat
    stream_users = import_module("0-stream_users").stream_users
    connections.check_server()  # settles the path before anything is timed
    path = connections.describe()
    pure = "pure Python" in path
    sides = {
        "project": lambda: sum(1 for _ in stream_users()),
        "same settings": lambda: plain_stream(
            pure, charset="utf8mb4", **dict.fromkeys(TIMEOUTS, load_config().io_timeout)
        ),
        "driver defaults": lambda: plain_stream(pure),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    counts = set()
    for _ in range(repeat):
        for name, side in sides.items():
            started = time.perf_counter()
            counts.add(side())
            times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(runs) for name, runs in times.items()}
    plain = "; ".join(
        f"plain cursor, {name}, {median[name]:.3f} s (ratio {median['project'] / median[name]:.2f})"
        for name in ("same settings", "driver defaults")
    )
    print(
        f"{path}: {counts.pop():,} rows, median of {repeat}: stream_users "
        f"{median['project']:.3f} s; {plain}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

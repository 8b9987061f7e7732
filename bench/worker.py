#!/usr/bin/env python3
"""Measure one benchmark figure in this fresh process and print it as JSON.

Usage: ``python3 bench/worker.py FIGURE`` with the database chosen by the
environment (``MYSQL_DATABASE``, ``DB_ENGINE``, ...), exactly as for the
numbered scripts. ``bench/run.py`` starts one worker per measurement, so
every figure gets its own interpreter and its own peak RSS.

The JSON object always has ``seconds`` (wall time of the figure itself,
imports excluded), ``ru_maxrss_kb`` (``getrusage(RUSAGE_SELF).ru_maxrss``,
KiB on Linux) and ``peak_rss_kb``, plus what the figure returns: a row count,
a value, or per-page latencies.

``peak_rss_kb`` is ``VmHWM`` from ``/proc/self/status`` where it exists, and
``ru_maxrss`` elsewhere. Linux carries ``ru_maxrss`` over ``fork`` and
``exec``, so a worker's ``ru_maxrss`` is never below the high-water mark of
the harness that started it; ``VmHWM`` belongs to this process image only.
"""

import json
import platform
import re
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from importlib import import_module
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import mysql.connector

import seed

stream_users = import_module("0-stream_users").stream_users
stream_users_in_batches = import_module("1-batch_processing").stream_users_in_batches
paginate = import_module("5-keyset_paginate")
ages = import_module("4-stream_ages")

BATCH_SIZE = 1_000  # rows per batch and per lazy page in the memory figures
WALK_PAGE_SIZE = 100  # rows per page in the page-latency walks
TAKE = 6  # rows taken by the early-stop figure, as in the curriculum's driver
QUERY = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"

Figure = Callable[[], dict]
FIGURES: dict[str, Figure] = {}


def figure(name: str) -> Callable[[Figure], Figure]:
    """Register a function as the figure called ``name``."""

    def register(function: Figure) -> Figure:
        FIGURES[name] = function
        return function

    return register


def count(items: Iterable[object]) -> int:
    """Consume ``items`` and return how many there were."""
    return sum(1 for _ in items)


def page_latencies(pages: Iterator[list[dict]]) -> list[float]:
    """Consume ``pages`` and return the seconds each page took to arrive."""
    latencies = []
    started = time.perf_counter()
    for _page in pages:
        arrived = time.perf_counter()
        latencies.append(arrived - started)
        started = arrived
    return latencies


@figure("stream")
def read_stream() -> dict:
    """Every user dict from ``stream_users()``."""
    return {"rows": count(stream_users())}


@figure("batches")
def read_batches() -> dict:
    """Every batch of ``BATCH_SIZE`` users from ``stream_users_in_batches``."""
    return {"rows": sum(len(batch) for batch in stream_users_in_batches(BATCH_SIZE))}


@figure("pages")
def read_pages() -> dict:
    """Every page of ``BATCH_SIZE`` users from the OFFSET walk ``lazy_paginate``."""
    return {"rows": sum(len(page) for page in paginate.lazy_paginate(BATCH_SIZE))}


@figure("ages")
def average_from_stream() -> dict:
    """The mean age computed by ``calculate_average_age()`` from the stream."""
    return {"value": str(ages.calculate_average_age())}


@figure("avg_sql")
def average_on_server() -> dict:
    """The anchor: ``SELECT AVG(age)`` on the server, connection included."""
    with seed.prodev_connection() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT AVG(age) FROM user_data")
        (value,) = cursor.fetchone()
    return {"value": str(value)}


@figure("fetchall")
def read_everything() -> dict:
    """The contrast: every user dict at once with ``fetchall()``."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(dictionary=True)
        cursor.execute(QUERY)
        users = cursor.fetchall()
        cursor.close()
    return {"rows": len(users)}


@figure("take6")
def take_six() -> dict:
    """The curriculum's early stop: ``islice(stream_users(), 6)``, then exit."""
    return {"rows": count(islice(stream_users(), TAKE))}


@figure("keyset")
def walk_keyset() -> dict:
    """Per-page latencies of the keyset walk with pages of ``WALK_PAGE_SIZE``."""
    return {"latencies": page_latencies(paginate.keyset_paginate(WALK_PAGE_SIZE))}


@figure("offset")
def walk_offset() -> dict:
    """Per-page latencies of the OFFSET walk with pages of ``WALK_PAGE_SIZE``."""
    return {"latencies": page_latencies(paginate.lazy_paginate(WALK_PAGE_SIZE))}


@figure("info")
def describe_stack() -> dict:
    """The driver implementation and the server version, for the report."""
    with seed.prodev_connection() as connection:
        server = connection.get_server_info().removeprefix("5.5.5-")  # MariaDB's old-client prefix
        classes = [kind.__name__ for kind in type(connection).__mro__]
    return {
        "connection_class": classes[0],
        "c_extension": "CMySQLConnection" in classes,
        "connector": mysql.connector.__version__,
        "server": server,
        "python": platform.python_version(),
    }


def peak_rss_kb() -> int:
    """This process image's peak RSS in KiB: ``VmHWM``, else ``ru_maxrss``."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    if found := re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE):
        return int(found[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(name: str) -> dict:
    """Run figure ``name`` once and return its result with time and peak RSS."""
    started = time.perf_counter()
    result = FIGURES[name]()
    seconds = time.perf_counter() - started
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "figure": name,
        "seconds": seconds,
        "peak_rss_kb": peak_rss_kb(),
        "ru_maxrss_kb": ru_maxrss,
        **result,
    }


def main(argv: list[str]) -> int:
    """``worker.py FIGURE``: print the measurement as one JSON line."""
    if len(argv) != 1 or argv[0] not in FIGURES:
        print(f"usage: worker.py {{{','.join(FIGURES)}}}", file=sys.stderr)
        return 2
    print(json.dumps(measure(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

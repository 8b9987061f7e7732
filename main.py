#!/usr/bin/env python3
"""Run the curriculum's drivers: python3 main.py N runs task N (0 to 4).

With no task, a short tour: seed the database if needed, then a few rows of
each pattern. ``python3 main.py --help`` lists the tasks.
"""

import argparse
import asyncio
import importlib
import io
import os
import runpy
import sys
import time
from contextlib import closing, redirect_stdout
from itertools import islice
from pathlib import Path

import seed
from prodev import connections, follow, produce
from prodev.errors import stdout_to_a_pipe

HERE = Path(__file__).resolve().parent
TASKS = {
    0: ("0-main.py", "create ALX_prodev, seed user_data, show 5 rows"),
    1: ("1-main.py", "stream users one by one: the first 6"),
    2: ("2-main.py", "batches of 50: every user older than 25"),
    3: ("3-main.py", "lazy pages of 100: every user"),
    4: ("4-stream_ages.py", "the average age, from a stream of ages"),
}


def run_task(number: int) -> None:
    """Run the driver of task ``number`` exactly as the curriculum runs it."""
    script, _ = TASKS[number]
    runpy.run_path(str(HERE / script), run_name="__main__")


def tour() -> None:
    """Seed if needed, then show each pattern on a few rows."""
    result = seed.seed(seed.DEFAULT_CSV)
    print(f"seeded user_data: {result.inserted} new rows, {result.present} already there")
    stream = importlib.import_module("0-stream_users")
    batches = importlib.import_module("1-batch_processing")
    pages = importlib.import_module("2-lazy_paginate")
    ages = importlib.import_module("4-stream_ages")

    print("\n0-stream_users: the first 3 users, one at a time")
    for user in islice(stream.stream_users(), 3):
        print(" ", user)
    print("\n1-batch_processing: sizes of the first batches of 400")
    print(" ", [len(batch) for batch in islice(batches.stream_users_in_batches(400), 3)])
    print("\n2-lazy_paginate: the names on the first 2 pages of 3 users")
    for page in islice(pages.lazy_pagination(3), 2):
        print(" ", [user["name"] for user in page])
    print("\n4-stream_ages: the mean of every age, in constant memory")
    print(f"  Average age of users: {ages.calculate_average_age():.2f}")
    live_tour()
    pipeline_tour()
    async_tour()


def pipeline_tour() -> None:
    """Show the first lines of the export pipeline, then stop it early."""
    export = importlib.import_module("7-export_users")
    print("\n7-export_users: the pipeline's first 3 JSON lines (users older than 25)")
    adults = export.keep_adults(export.stream_users(), 25)
    lines = export.json_lines(export.pick_fields(adults, export.EXPORTED))
    with closing(lines):  # stops every stage and closes the connection
        for line in islice(lines, 3):
            print(" ", line, end="")


def async_tour() -> None:
    """Run lesson 8's two async streams at once, as its own demo does."""
    streams = importlib.import_module("8-async_streams")
    print("\n8-async_streams: two async streams at once on one event loop (asyncio.gather)")
    with redirect_stdout(io.StringIO()) as shown:  # indented like the other lessons
        asyncio.run(streams.main())
    for line in shown.getvalue().splitlines():
        print(" ", line)


def live_tour() -> None:
    """Follow user_data for two seconds while a producer thread inserts users."""
    live = importlib.import_module("6-follow_users")
    print("\n6-follow_users: users as they are committed (a producer inserts 4 a second)")
    with follow.visiting() as now, produce.in_background(rate=4, seconds=2) as commits:
        for position, user in islice(live.follow_positions(now), 8):
            committed = commits.time_of(user["email"])
            if committed is None:  # someone else inserted it during the demo
                print(f"  position {position}: {user['name']}, inserted by another writer")
            else:
                delay = (time.monotonic() - committed) * 1000
                print(f"  position {position}: {user['name']}, {delay:.0f} ms after its commit")


def print_version() -> int:
    """Print the driver and its path, e.g. ``mysql-connector-python 9.7.0, C extension,
    fast path``; a first connection settles whether the fast path reads right."""
    try:
        seed.check_server()
    except seed.SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(connections.describe())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the task number and run it, or the tour; return the exit code."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="tasks:\n" + "\n".join(f"  {n}  {text}" for n, (_, text) in TASKS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("task", nargs="?", type=int, choices=sorted(TASKS), help="task 0 to 4")
    parser.add_argument(
        "--version",
        action="store_true",
        help="say which database driver serves, and which path its rows take",
    )
    args = parser.parse_args(argv)
    if args.version:
        return print_version()
    task = args.task
    # The drivers open 'user_data.csv' and import the numbered scripts by
    # name, both relative to the project folder.
    os.chdir(HERE)
    try:
        # Only seeding may create the SQLite file: the tour and task 0 seed.
        seed.check_server(create=task in (None, 0))
        with stdout_to_a_pipe():  # the reader (head, less) may go early
            run_task(task) if task is not None else tour()
    except seed.SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

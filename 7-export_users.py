#!/usr/bin/env python3
"""Beyond the curriculum: a pipeline of small generators, one job each.

``stream_users()`` -> ``keep_adults`` -> ``pick_fields`` -> ``json_lines``
-> stdout, a row at a time, in constant memory. ``@stage`` (prodev.pipeline)
closes every stage and the connection on an early stop (``islice``, ``|
head``), unread rows unread, and names the stage and row in an error.
"""

import json
from collections.abc import Iterator
from contextlib import closing

from prodev.pipeline import check_size, older_than, stage, stdout_to_a_pipe

stream_users = __import__("0-stream_users").stream_users
EXPORTED = {"user_id": "id", "name": "name", "age": "age"}  # old: new name
as_json = json.JSONEncoder(default=float).encode  # a DECIMAL age: a number


@stage
def keep_adults(users: Iterator[dict], age: int) -> Iterator[dict]:
    """Yield the users older than ``age``, in the order they come."""
    check_size("age", age, minimum=0)
    yield from (user for user in users if user["age"] > age)


@stage
def pick_fields(users: Iterator[dict], names: dict) -> Iterator[dict]:
    """Yield each user as ``{new: user[old]}`` for ``old: new`` in names."""
    for user in users:
        yield {new: user[old] for old, new in names.items()}


@stage
def json_lines(records: Iterator[dict]) -> Iterator[str]:
    """Yield each record as one line of JSON."""
    yield from (as_json(record) + "\n" for record in records)


if __name__ == "__main__":
    adults = keep_adults(stream_users(), older_than(__doc__))
    lines = json_lines(pick_fields(adults, EXPORTED))
    with stdout_to_a_pipe() as out, closing(lines):  # closing: every stage
        out.writelines(lines)

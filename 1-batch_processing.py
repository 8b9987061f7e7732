#!/usr/bin/env python3
"""Task 2: fetch rows in batches and process each batch as it arrives.

``stream_users_in_batches(batch_size)`` runs one query and yields lists of at
most ``batch_size`` user dicts, read with ``fetchmany``: every batch is full
except perhaps the last, and no empty batch is ever yielded. Memory holds one
batch at a time, and the connection closes when the batches run out, on an
error, or when the consumer stops early. The size is checked first thing,
so a bad size raises at the first ``next()``, before any connection or query.
``batch_processing(batch_size)`` prints every user older than 25, one dict a
line, as the batches stream past.
"""

import sys
from collections.abc import Iterator

import seed


def stream_users_in_batches(batch_size: int) -> Iterator[list[dict]]:
    """Yield lists of at most ``batch_size`` user dicts, in user_id order."""
    seed.check_size("batch_size", batch_size)
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(dictionary=True)
        cursor.execute(
            "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"
        )
        while batch := cursor.fetchmany(batch_size):
            yield batch


def batch_processing(batch_size: int) -> None:
    """Print each user older than 25, reading ``batch_size`` rows at a time."""
    seed.check_size("batch_size", batch_size)
    for batch in stream_users_in_batches(batch_size):
        for user in batch:
            if user["age"] > 25:
                print(user)


if __name__ == "__main__":
    try:
        batch_processing(50)
    except BrokenPipeError:
        sys.stderr.close()

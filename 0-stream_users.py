#!/usr/bin/env python3
"""Task 1: stream rows one by one with a generator.

``stream_users()`` runs one query and yields each row of user_data as a dict
(``user_id``, ``name``, ``email``, ``age``) in user_id order. Rows come off
the connection only as the consumer asks for them, so memory stays flat
however large the table. The generator owns its connection: the ``with``
closes it when the rows run out, on an error, and when the consumer stops
early (``islice``, ``break``), without reading the rows nobody asked for.

The curriculum's driver calls the module itself
(``stream_users = __import__('0-stream_users')``, then ``stream_users()``),
so the module is made callable too.
"""

from collections.abc import Iterator
from itertools import islice

import seed
from prodev.curriculum import callable_module


def stream_users() -> Iterator[dict]:
    """Yield every user as a dict, one at a time, in user_id order."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(dictionary=True)
        cursor.execute(
            "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"
        )
        for row in cursor:
            yield row


callable_module(__name__, stream_users)

if __name__ == "__main__":
    print(*islice(stream_users(), 6), sep="\n")

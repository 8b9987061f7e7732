#!/usr/bin/env python3
"""Task 3: paginate lazily, fetching the next page only when it is needed.

``paginate_users(page_size, offset)`` returns one page of user dicts with
``LIMIT``/``OFFSET`` in user_id order. ``lazy_paginate(page_size)`` (also
importable as ``lazy_pagination``, the name the curriculum's driver uses)
yields page after page from offset 0, querying for a page only when the
consumer asks for it; all pages of one walk share one connection.

OFFSET makes the server skip every earlier row again for each page, so page
n costs O(n). ``lazy_keyset_paginate(page_size, after=None)`` gives the same
pages on an unchanged table by asking for rows *after the last user_id
seen*, which the primary key answers directly: every page costs the same,
and a walk can resume after any user_id. It does so by itself when its
server goes away (a crash, a cluster node lost): it reconnects to the first
configured server that answers and continues after the last user it
yielded, so every user comes exactly once, in order. An OFFSET walk cannot
promise that: "row 500" is a position, and rows inserted or deleted
meanwhile move every later row to another page. For a flat stream of users,
flatten the pages: ``(user for page in lazy_keyset_paginate(1000) for user
in page)``.
"""

from collections.abc import Iterator

import seed

RECONNECTS = 3  # attempts in a row that fetch nothing before a lost walk gives up
PAGE = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id LIMIT %s OFFSET %s"
PAGE_AFTER = (
    "SELECT user_id, name, email, age FROM user_data WHERE user_id > %s ORDER BY user_id LIMIT %s"
)


def paginate_users(page_size: int, offset: int, connection: seed.Connection = None) -> list[dict]:
    """Return the page of at most ``page_size`` users starting at ``offset``."""
    seed.check_size("page_size", page_size)
    seed.check_size("offset", offset, minimum=0)
    if connection is None:
        with seed.prodev_connection() as connection:
            return _fetch(connection, PAGE, (page_size, offset))
    return _fetch(connection, PAGE, (page_size, offset))


def paginate_users_after(
    page_size: int, after: str | None, connection: seed.Connection
) -> list[dict]:
    """Return the next ``page_size`` users whose user_id sorts after ``after``."""
    return _fetch(connection, PAGE_AFTER, (after or "", page_size))


def _fetch(connection: seed.Connection, query: str, params: tuple) -> list[dict]:
    cursor = connection.cursor(dictionary=True)
    cursor.execute(query, params)
    return cursor.fetchall()


def lazy_paginate(page_size: int) -> Iterator[list[dict]]:
    """Return a generator of pages of ``page_size`` users, fetched on demand."""
    seed.check_size("page_size", page_size)
    return _offset_pages(page_size)


def _offset_pages(page_size: int) -> Iterator[list[dict]]:
    with seed.prodev_connection() as connection:
        offset = 0
        while page := paginate_users(page_size, offset, connection):
            yield page
            offset += page_size


lazy_pagination = lazy_paginate


def lazy_keyset_paginate(page_size: int, after: str | None = None) -> Iterator[list[dict]]:
    """Like ``lazy_paginate``, paging by user_id; resume with ``after=<last user_id>``."""
    seed.check_size("page_size", page_size)
    if after is not None and not isinstance(after, str):
        raise TypeError(f"after must be a user_id string or None, not {type(after).__name__}")
    return _keyset_pages(page_size, after)


def _keyset_pages(page_size: int, after: str | None) -> Iterator[list[dict]]:
    failures = 0
    while True:
        try:
            with seed.prodev_connection() as connection:
                while page := paginate_users_after(page_size, after, connection):
                    yield page
                    after, failures = page[-1]["user_id"], 0
                return
        except seed.ConnectionLost:
            failures += 1
            if failures > RECONNECTS:
                raise


if __name__ == "__main__":
    for page in lazy_pagination(100):
        for user in page:
            print(user)

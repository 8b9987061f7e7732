#!/usr/bin/env python3
"""Task 3: paginate lazily, fetching the next page only when it is needed.

``paginate_users(page_size, offset)`` returns a page of user dicts in
user_id order, ``LIMIT`` and ``OFFSET`` bound as parameters. ``lazy_paginate``
(alias ``lazy_pagination``) checks its size, then fetches each page only when
asked, up to the first empty one, on one connection closed however it ends.
OFFSET rescans the rows before a page, so page n costs O(n): see
5-keyset_paginate.py for pages that all cost the same."""

from collections.abc import Iterator

import seed

PAGE = ("SELECT user_id, name, email, age FROM user_data ORDER BY user_id"
        " LIMIT %s OFFSET %s")


def paginate_users(page_size: int, offset: int,
                   connection: seed.Connection = None) -> list[dict]:
    """Return the page at ``offset``, on a new connection if none is given."""
    seed.check_size("page_size", page_size)
    seed.check_size("offset", offset, minimum=0)
    if connection is None:
        with seed.prodev_connection() as connection:
            return paginate_users(page_size, offset, connection)
    cursor = connection.cursor(dictionary=True)
    cursor.execute(PAGE, (page_size, offset))
    return cursor.fetchall()


def lazy_paginate(page_size: int) -> Iterator[list[dict]]:
    """Yield pages of at most ``page_size`` users, each fetched when asked."""
    seed.check_size("page_size", page_size)
    with seed.prodev_connection() as connection:
        offset = 0
        while page := paginate_users(page_size, offset, connection):
            yield page
            offset += page_size


lazy_pagination = lazy_paginate

if __name__ == "__main__":
    print(*next(lazy_paginate(5), []), sep="\n")

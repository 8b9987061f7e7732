#!/usr/bin/env python3
"""Task 3: paginate lazily, fetching the next page only when it is needed.

``paginate_users(page_size, offset)`` returns one page of user dicts with
``LIMIT``/``OFFSET`` in user_id order (the numbers are query parameters,
never pasted into the SQL). ``lazy_paginate(page_size)``, also named
``lazy_pagination`` as the curriculum's driver has it, starts at offset 0,
fetches a page only when the consumer asks for one, and stops at the first
empty page; one connection serves the walk and closes however it ends. The
size is checked first, so a bad one raises at the first ``next()``.

OFFSET makes the server skip every earlier row again, so page n costs O(n):
5-keyset_paginate.py shows a walk whose every page costs the same.
"""

from collections.abc import Iterator

import seed

PAGE = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id LIMIT %s OFFSET %s"


def paginate_users(page_size: int, offset: int, connection: seed.Connection = None) -> list[dict]:
    """Return at most ``page_size`` users from ``offset`` on (on a new connection if none)."""
    seed.check_size("page_size", page_size)
    seed.check_size("offset", offset, minimum=0)
    if connection is None:
        with seed.prodev_connection() as connection:
            return paginate_users(page_size, offset, connection)
    cursor = connection.cursor(dictionary=True)
    cursor.execute(PAGE, (page_size, offset))
    return cursor.fetchall()


def lazy_paginate(page_size: int) -> Iterator[list[dict]]:
    """Yield pages of at most ``page_size`` users, each fetched when asked for."""
    seed.check_size("page_size", page_size)
    with seed.prodev_connection() as connection:
        offset = 0
        while page := paginate_users(page_size, offset, connection):
            yield page
            offset += page_size


lazy_pagination = lazy_paginate

if __name__ == "__main__":
    print(*next(lazy_paginate(5), []), sep="\n")

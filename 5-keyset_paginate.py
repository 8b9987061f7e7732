#!/usr/bin/env python3
"""Beyond the curriculum: keyset pagination that resumes after a lost server.

``keyset_paginate(page_size, after=None)`` yields ``lazy_paginate``'s pages but
asks for the rows *after the last user_id seen* instead of skipping ``offset``
rows: the primary key answers that directly, so every page costs the same,
however deep. That user_id is a position: pass it as ``after`` to resume later
(only None or a user_id, a lower-case UUID, is accepted). After a lost
connection the walk resumes on the first configured server that answers within
30 s (retried with backoff: RECONNECT_SECONDS in prodev.resume), so every user
comes once, in order, which OFFSET cannot promise.
"""

from collections.abc import Iterator

import seed
from prodev.resume import reconnecting

PAGE_AFTER = ("SELECT user_id, name, email, age FROM user_data"
              " WHERE user_id > %s ORDER BY user_id LIMIT %s")


def page_after(connection: seed.Connection, page_size: int,
               after: str | None) -> list[dict]:
    """Return the next ``page_size`` users with a user_id after ``after``."""
    cursor = connection.cursor(dictionary=True)
    cursor.execute(PAGE_AFTER, (after or "", page_size))
    return cursor.fetchall()


def keyset_paginate(page_size: int,
                    after: str | None = None) -> Iterator[list[dict]]:
    """Yield pages of up to ``page_size`` users, user_ids after ``after``."""
    seed.check_size("page_size", page_size)
    seed.check_user_id("after", after, optional=True)
    for attempt in reconnecting():  # a new connection per lost server
        with attempt as connection:
            while page := page_after(connection, page_size, after):
                yield page
                after = page[-1]["user_id"]
            return


if __name__ == "__main__":
    print(*next(keyset_paginate(5), []), sep="\n")

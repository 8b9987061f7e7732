#!/usr/bin/env python3
"""Beyond the curriculum: keyset pagination that resumes after a lost server.

``keyset_paginate(page_size, after=None)`` yields the same pages as
``lazy_paginate`` on an unchanged table, but asks for the rows *after the
last user_id seen* instead of skipping ``offset`` rows: the primary key
answers that directly, so every page costs the same, however deep the walk.
The last user_id of a page is also a position that survives anything: pass
it as ``after`` to resume a walk later, and the walk resumes by itself when
its server goes away (a crash, a cluster node lost), on a new connection to
the first configured server that answers, so every user comes exactly once,
in order. An OFFSET walk cannot promise that: rows inserted or deleted
meanwhile move every later row to another page.
"""

from collections.abc import Iterator

import seed
from prodev.resume import reconnecting

PAGE_AFTER = (
    "SELECT user_id, name, email, age FROM user_data WHERE user_id > %s ORDER BY user_id LIMIT %s"
)


def page_after(connection: seed.Connection, page_size: int, after: str | None) -> list[dict]:
    """Return the next ``page_size`` users whose user_id sorts after ``after``."""
    cursor = connection.cursor(dictionary=True)
    cursor.execute(PAGE_AFTER, (after or "", page_size))
    return cursor.fetchall()


def keyset_paginate(page_size: int, after: str | None = None) -> Iterator[list[dict]]:
    """Yield pages of at most ``page_size`` users with user_id after ``after``."""
    seed.check_size("page_size", page_size)
    if after is not None and not isinstance(after, str):
        raise TypeError(f"after must be a user_id string or None, not {type(after).__name__}")
    for attempt in reconnecting():  # a new connection each time the server is lost
        with attempt as connection:
            while page := page_after(connection, page_size, after):
                yield page
                after = page[-1]["user_id"]
            return


if __name__ == "__main__":
    print(*next(keyset_paginate(5), []), sep="\n")

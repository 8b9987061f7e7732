#!/usr/bin/env python3
"""Beyond the curriculum: an endless generator that follows live data.

``follow_users(after=None)`` yields each user committed to user_data after
a position, then waits for the next, for ever: the consumer stops it
(``islice``, ``break``, ``close()``) and its connection closes. Without
``after`` it follows from now. ``follow_positions`` yields
``(position, user)``: pass a position back as ``after``, in any process,
to resume right after that user. Each committed insert comes once, in
commit order, whoever wrote it; a rolled-back row never comes. The rules
for positions and deletes, and how: prodev/follow.py.
"""

import sys
from collections.abc import Iterator
from itertools import islice

import seed
from prodev import follow, produce


def follow_positions(after: int | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(position, user)`` for each user committed after ``after``."""
    if after is not None:  # checked at the first next(), before any connection
        seed.check_size("after", after, minimum=0)
    with follow.Feed(after) as feed:
        while True:
            for position, user in feed.wait():  # blocks until new commits
                yield position, user


def follow_users(after: int | None = None) -> Iterator[dict]:
    """Yield each user committed after position ``after`` (default: now)."""
    for _position, user in follow_positions(after):
        yield user


if __name__ == "__main__":
    # "now" is taken before the producer starts, so that no user is missed.
    with follow.visiting() as now, produce.in_background(rate=5, seconds=2):
        try:
            for position, user in islice(follow_positions(now), 10):
                print(position, user, flush=True)
        except BrokenPipeError:  # the reader (head) has gone, as in 2-main.py
            sys.stderr.close()

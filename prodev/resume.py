"""Reconnecting a walk whose server goes away, so that it can resume.

A keyset walk knows where it is (the last user_id it yielded), so after a
crash, a restart or a cluster node lost it can open a new connection, to the
first configured server that answers, and carry on from there. This module
supplies the connections; the walk supplies the position::

    for attempt in reconnecting():
        with attempt as connection:
            ...  # read from the last position on; return when done
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from prodev.connections import Connection, prodev_connection
from prodev.errors import ConnectionLost

RECONNECTS = 10  # lost connections one walk survives; the next one ends it


def reconnecting(losses: int = RECONNECTS) -> Iterator[AbstractContextManager[Connection]]:
    """Yield connection contexts: a lost connection ends its context quietly.

    The caller's loop then takes the next context, a new connection, and
    resumes; it must leave the loop (``return``/``break``) once its work is
    done. After ``losses`` lost connections the next loss raises
    ConnectionLost, and a server that cannot be reached at all raises
    SetupError at once.
    """
    for attempt in range(losses + 1):
        yield _lost_is_quiet(last=attempt == losses)


@contextmanager
def _lost_is_quiet(last: bool) -> Iterator[Connection]:
    try:
        with prodev_connection() as connection:
            yield connection
    except ConnectionLost:
        if last:
            raise

"""Reconnecting a walk whose server goes away, so that it can resume.

A keyset walk knows where it is (the last user_id it yielded), so after a
crash, a restart or a cluster node lost it can open a new connection, to the
first configured server that answers, and carry on from there. This module
supplies the connections; the walk supplies the position::

    for attempt in reconnecting():
        with attempt as connection:
            ...  # read from the last position on; return when done

After a lost connection no server may answer for a moment (a restart, a
failover): the next connection is tried again, with growing pauses, for up
to RECONNECT_WAIT seconds (default 30) before the walk gives up in one line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from prodev.config import load_config
from prodev.connections import Connection, prodev_connection
from prodev.errors import ConnectionLost, SetupError, Unreachable

RECONNECTS = 10  # lost connections one walk survives; the next one ends it
# Seconds between tries to reconnect: the first pause, doubled up to the last.
FIRST_PAUSE, LONGEST_PAUSE = 0.1, 2.0


def reconnecting(losses: int = RECONNECTS) -> Iterator[AbstractContextManager[Connection]]:
    """Yield connection contexts: a lost connection ends its context quietly.

    The caller's loop then takes the next context, a new connection, and
    resumes; it must leave the loop (``return``/``break``) once its work is
    done. After ``losses`` lost connections the next loss raises
    ConnectionLost. A server that cannot be reached at the start raises
    SetupError at once; after a loss, only once RECONNECT_WAIT has passed.
    """
    for attempt in range(losses + 1):
        yield _lost_is_quiet(again=attempt > 0, last=attempt == losses)


@contextmanager
def _lost_is_quiet(again: bool, last: bool) -> Iterator[Connection]:
    try:
        with ExitStack() as stack:
            yield _reconnected(stack) if again else stack.enter_context(prodev_connection())
    except ConnectionLost:
        if last:
            raise


def _reconnected(stack: ExitStack) -> Connection:
    """A new connection, held by ``stack``, tried until RECONNECT_WAIT has passed."""
    wait = load_config().reconnect_wait
    deadline = time.monotonic() + wait
    pause = FIRST_PAUSE
    while True:
        try:
            return stack.enter_context(prodev_connection())
        except Unreachable as error:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SetupError(
                    f"gave up reconnecting after {wait:g} s (RECONNECT_WAIT): {error}"
                ) from error
        time.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)

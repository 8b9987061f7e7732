"""Reconnecting a walk whose server goes away, so that it can resume.

A keyset walk knows where it is (the last user_id it yielded), so after a
crash, a restart or a cluster node lost it can open a new connection, to the
first configured server that answers, and carry on from there. This module
supplies the connections; the walk supplies the position::

    for attempt in reconnecting():
        with attempt as connection:
            ...  # read from the last position on; return when done

After a lost connection it tries again at once (another node may answer),
then waits 0.1 s, 0.2 s, 0.4 s ... doubling up to 2 s between tries, for at
most ``RECONNECT_SECONDS`` (30 s; no try starts later): a server restarting
or failing over is usually back well within that. Then it gives up in one
line saying how long it tried. A server that cannot be reached for the first connection is
refused at once: nothing was lost, so there is nothing to wait for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from prodev import connections
from prodev.backends import errors_of
from prodev.connections import Connection
from prodev.errors import ConnectionLost, SetupError

RECONNECTS = 10  # lost connections one walk survives; the next one ends it
RECONNECT_SECONDS = 30.0  # how long, after a loss, a walk tries to reconnect
FIRST_WAIT = 0.1  # seconds between the first tries, doubling ...
LONGEST_WAIT = 2.0  # ... up to this


def reconnecting(losses: int = RECONNECTS) -> Iterator[AbstractContextManager[Connection]]:
    """Yield connection contexts: a lost connection ends its context quietly.

    The caller's loop then takes the next context, a new connection, and
    resumes; it must leave the loop (``return``/``break``) once its work is
    done. Each new connection is tried for ``RECONNECT_SECONDS`` (read then)
    with backoff before ConnectionLost says how long it tried. After
    ``losses`` lost connections the next loss raises ConnectionLost, and a
    server that cannot be reached for the first connection raises SetupError
    at once.
    """
    yield _lost_is_quiet(connections.open_connection, last=losses == 0)
    for loss in range(1, losses + 1):
        yield _lost_is_quiet(lambda: _reconnect(RECONNECT_SECONDS), last=loss == losses)


def _reconnect(seconds: float) -> Connection:
    """A new connection, tried for ``seconds`` with backoff, or ConnectionLost."""
    deadline = time.monotonic() + seconds
    wait = FIRST_WAIT
    while True:
        try:
            return connections.open_connection()
        except SetupError as error:
            # After a loss any refusal may be the server on its way back up
            # (refused, dropped in the handshake, not ready): the last one
            # is what the user sees.
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionLost(
                    f"lost the connection; tried to reconnect for {seconds:g} s, "
                    f"then gave up: {error}"
                ) from error
        time.sleep(min(wait, left))
        wait = min(2 * wait, LONGEST_WAIT)


@contextmanager
def _lost_is_quiet(connect: Callable[[], Connection], last: bool) -> Iterator[Connection]:
    connection = connect()
    try:
        with errors_of(connection):
            yield connection
    except ConnectionLost:
        if last:
            raise
    finally:
        connections.close_connection(connection)

"""Following user_data as rows arrive: a change log, positions, and a feed.

No binary log is needed (MariaDB has it off by default, and a follower must
not reconfigure the server), so the same design runs on MySQL/MariaDB, on a
Galera cluster and on SQLite:

1. **Capture.** An ``AFTER INSERT`` trigger on user_data writes each new
   row's user_id into ``user_data_log``, inside the writer's own
   transaction: the entry commits with the row or rolls back with it. Every
   writer counts, whoever it is (the producer, seed.py, a plain ``INSERT``
   in the mariadb client). The trigger is created by the first follower,
   not by seeding, so a project that never follows pays nothing for it.

2. **Positions, given to committed entries only.** An entry's ``seq``
   (AUTO_INCREMENT) is taken at INSERT time, not at commit: a transaction
   that took seq 5 can commit after one that took 6, or roll back and leave
   5 empty for ever, and each Galera node hands out its own interleaved
   numbers. Reading ``seq > last`` therefore skips rows. Instead a follower
   that finds entries without a position (``pos = 0``) gives them
   positions, in one transaction that first locks the single row of
   ``user_data_log_head``. It can only see committed entries, so no position
   ever goes to a row that could still roll back, and an entry committed
   later gets a later position. The lock makes positioners take turns on one
   server (on Galera, certification aborts the second of two nodes'
   positioners, which tries again), and each batch's positions lie above
   the head's ``last``.

3. **Reading.** Positions are committed in increasing order, one batch at a
   time, so a reader never sees a position without every smaller one:
   ``pos > last ORDER BY pos`` misses nothing, repeats nothing, and needs no
   timeout for gaps. Positions increase but are not contiguous.

Order: a transaction that committed before the follower's previous look
comes before every one committed after it; those that committed between the
same two looks (milliseconds apart while rows flow) come in the order they
inserted. On SQLite, where one writer at a time holds the database, that is
exactly commit order.

With writers on several Galera nodes, two commits seen in the same look are
ordered by their nodes' interleaved seqs instead.

**Positions.** A position belongs to the log that handed it out. A log is
whole while its trigger and its two tables are there; a follower that finds
it otherwise begins a new one, which starts empty: the first time, after
``python3 -m prodev.follow remove``, after ``DROP TABLE user_data`` (which
drops the trigger with the table), or when a table of the log was dropped.
Its head's ``first`` is where its positions begin: the clock, in
microseconds since 1970, or above the last position of the log it replaces
if that is higher. While no log was whole, inserts were not recorded, so a
follower cannot resume across that: a position from an earlier log is
refused in one line (it lies below the new log's ``first``, which an
earlier log could only have reached by taking more than a million entries a
second, on average over its life). The same holds for a running follower:
while idle it checks, once a second, that its log is still whole and still
the one its position came from, and ends with one line if not.

**Deletes.** Each committed insert comes once, at its own position, if its
row is still there when the follower reads its entry: a user deleted before
the follower reads its entry does not come, and a user deleted and inserted
again comes again, at its new insert's position (the same e-mail gives the
same user_id, so an entry whose user_id has a later entry is not read as
that user: the later one is).

``Feed`` is the follower's side: one connection (on MySQL in READ
COMMITTED, so that positioning takes no gap locks), a position, a ``wait()``
that blocks (polling with a growing pause, ten looks a second at most when
idle) until users arrive, and a reconnect, to the first configured server
that answers, when its server goes away.

``python3 -m prodev.follow remove`` drops the trigger and the log, so that
writers stop paying for them; the next follower sets them up again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from types import TracebackType
from typing import Any, TypeVar

from prodev.backends import Connection, errors_of
from prodev.config import check_size
from prodev.connections import prodev_connection
from prodev.errors import ConnectionLost, SetupError, TryAgain, report

T = TypeVar("T")

# prodev.schema's LOG_TABLE, LOG_HEAD and LOG_TRIGGER, spelled out here so that
# the SQL templates below interpolate only literals.
LOG, HEAD, TRIGGER = "user_data_log", "user_data_log_head", "user_data_logged"
USER_KEYS = ("user_id", "name", "email", "age")
READ_PAGE = 1_000  # entries read per look
POSITION_PAGE = 10_000  # entries positioned per transaction
POLL_FIRST, POLL_MAX = 0.002, 0.1  # seconds between idle looks, doubling
CHECK_EVERY = 1.0  # seconds between an idle follower's checks that its log is whole
RECONNECT_FOR = 60.0  # seconds a lost feed keeps trying to reconnect
RECONNECT_PAUSE = 0.2

# An entry is read as its user only if no later entry names the same user_id
# (the user was deleted and inserted again): the delete rule.
READ_AFTER = f"""
SELECT log.pos, user_data.user_id, user_data.name, user_data.email, user_data.age
FROM {LOG} AS log LEFT JOIN user_data ON user_data.user_id = log.user_id
    AND NOT EXISTS (
        SELECT 1 FROM {LOG} AS later WHERE later.user_id = log.user_id AND later.seq > log.seq
    )
WHERE log.pos > %s ORDER BY log.pos LIMIT %s"""
# pos = 0 (not NULL) lets one index range over (pos, seq) find the pending entries.
PENDING = f"SELECT seq FROM {LOG} WHERE pos = 0 AND seq > %s ORDER BY seq LIMIT %s"
TAKE_TURN = f"UPDATE {HEAD} SET last = last WHERE id = 1"  # locks the head row until commit
LAST = f"SELECT last FROM {HEAD} WHERE id = 1"
FIRST = f"SELECT first FROM {HEAD} WHERE id = 1"
SET_LAST = f"UPDATE {HEAD} SET last = %s WHERE id = 1"
BEGIN = f"UPDATE {HEAD} SET first = %s, last = %s WHERE id = 1"
EMPTY = f"DELETE FROM {LOG} WHERE seq <> -1"  # all but the boundary entry (schema.LOG_BOUNDARY)

LOG_GONE = (
    "the log of user_data lost its trigger or a table while following (python3 -m "
    "prodev.follow remove ran, or user_data was dropped): inserts since were not "
    "recorded, so this follower stops; follow again from now"
)


def earlier_log(position: int) -> str:
    """The one line refusing ``position``, which an earlier log handed out."""
    return (
        f"position {position} is from an earlier log of user_data: since then the log "
        "was removed or begun again, and inserts in between were not recorded, so it "
        "cannot resume there; follow from now (no position)"
    )


def parts(connection: Connection) -> tuple[bool, set[str]]:
    """(the trigger is there, the state of each of the log's two tables).

    A table is "absent", "current", or "stale": there, but from an earlier
    layout that this module cannot use.
    """
    backend = connection.backend
    trigger = backend.has_trigger(connection, TRIGGER)
    states = set()
    with errors_of(connection):
        cursor = connection.cursor()
        for table, column in ((LOG, "pos"), (HEAD, "first")):
            cursor.execute(backend.columns_of_sql, (column, table))
            (columns, named) = cursor.fetchall()[0]
            states.add("absent" if not columns else "current" if named else "stale")
        connection.commit()
    return trigger, states


def is_set_up(connection: Connection) -> bool:
    """Is the log whole: its trigger and both its tables there?"""
    trigger, tables = parts(connection)
    return trigger and tables == {"current"}


def set_up(connection: Connection) -> None:
    """Make the log whole, beginning a new one unless it is.

    The trigger goes last: once it exists, everything it writes to does too.
    """
    trigger, tables = parts(connection)
    if trigger and tables == {"current"}:
        return
    # A trigger writing to a table that is gone makes every insert into
    # user_data fail; a stale table cannot serve. (A table merely absent may
    # be another follower's set-up under way: it is created below, if not.)
    if trigger or "stale" in tables:
        remove(connection)
    backend = connection.backend
    with errors_of(connection):
        cursor = connection.cursor()
        for statement in backend.log_tables_sql:
            cursor.execute(statement)
            connection.commit()
    in_turn(connection, lambda cursor: begin(cursor, backend.has_trigger_sql))
    with errors_of(connection):
        # Two followers may set up at once: the trigger the other made is fine.
        backend.create(connection.cursor(), backend.log_trigger_sql)
        connection.commit()


def begin(cursor: Any, has_trigger_sql: str) -> None:
    """Begin a new, empty log, unless another follower has meanwhile (its trigger is there).

    Its positions start at the clock, in microseconds, or above the last
    one the head holds if that is higher.
    """
    cursor.execute(has_trigger_sql, (TRIGGER,))
    if cursor.fetchall()[0][0]:
        return
    cursor.execute(LAST)
    (last,) = cursor.fetchone()
    cursor.execute(EMPTY)  # entries from before were never, or no longer, all recorded
    first = max(int(last) + 1, time.time_ns() // 1000)
    cursor.execute(BEGIN, (first, first))


def remove(connection: Connection) -> None:
    """Drop the trigger, then the log: writers to user_data stop paying for it."""
    with errors_of(connection):
        cursor = connection.cursor()
        for name, kind in ((TRIGGER, "TRIGGER"), (LOG, "TABLE"), (HEAD, "TABLE")):
            cursor.execute(f"DROP {kind} IF EXISTS {name}")
        connection.commit()


@contextmanager
def taking_turns(connection: Connection) -> Iterator[Any]:
    """A transaction that first locks the head row; yields its cursor, commits after.

    Positioners and a new log's beginning take turns on it. Raises TryAgain
    when the transaction lost a lock wait or a deadlock (on Galera, its
    certification) and was rolled back.
    """
    cursor = connection.cursor()
    try:
        with errors_of(connection):
            cursor.execute(TAKE_TURN)
            yield cursor
            connection.commit()
    except BaseException:
        with suppress(SetupError), errors_of(connection):
            connection.rollback()  # the server may be gone: the first error tells
        raise


def in_turn(connection: Connection, work: Callable[[Any], T]) -> T:
    """``work(cursor)`` in a taking_turns transaction, run again until it commits."""
    while True:
        try:
            with taking_turns(connection) as cursor:
                return work(cursor)
        except TryAgain:
            continue


def position_pending(connection: Connection, above: int = 0) -> tuple[int, int]:
    """Give positions to committed entries with none and a seq above ``above``.

    Returns (how many, the largest seq positioned, or ``above``). Positions
    are ``seq`` shifted above the head's ``last``, so one UPDATE positions a
    whole batch: they increase with ``seq`` inside the batch and lie above
    every earlier batch.
    """
    with errors_of(connection):
        cursor = connection.cursor()
        cursor.execute(PENDING, (above, 1))
        found = cursor.fetchall()
        connection.commit()  # ends the read, so that the next one sees fresh data
    if not found:
        return 0, above
    try:
        with taking_turns(connection) as cursor:
            cursor.execute(LAST)
            (last,) = cursor.fetchone()
            cursor.execute(PENDING, (above, POSITION_PAGE))  # after the lock: fresh data
            pending = [seq for (seq,) in cursor.fetchall()]
            if pending:
                shift = last + 1 - pending[0]
                marks = ", ".join(["%s"] * len(pending))
                cursor.execute(
                    f"UPDATE {LOG} SET pos = seq + %s WHERE seq IN ({marks})", (shift, *pending)
                )
                cursor.execute(SET_LAST, (pending[-1] + shift,))
    except TryAgain:
        return 0, above  # another positioner won; the next look tries again
    return len(pending), max(pending, default=above)


def position_all(connection: Connection) -> int:
    """Position every committed entry that has no position; return how many.

    A page after the first starts above the last seq positioned, so it does
    not wade again through the index entries the first pages left for purge.
    """
    total = above = 0
    while True:
        count, above = position_pending(connection, above)
        total += count
        if count < POSITION_PAGE:
            return total


def read_after(connection: Connection, position: int) -> list[tuple[int, dict | None]]:
    """The next positioned entries after ``position``: (position, user or None).

    The user is None when it was deleted before this read, or inserted again
    since (its later entry reads as it).
    """
    with errors_of(connection):
        cursor = connection.cursor()
        cursor.execute(READ_AFTER, (position, READ_PAGE))
        rows = cursor.fetchall()
        connection.commit()
    return [
        (row[0], None if row[1] is None else dict(zip(USER_KEYS, row[1:], strict=True)))
        for row in rows
    ]


def current_position(connection: Connection) -> int:
    """The position of the last user committed so far: "now".

    Read in turn with the positioners and with a new log's beginning, so
    that a log another follower is beginning is seen begun, never half-way.
    """
    position_all(connection)

    def last(cursor: Any) -> int:
        cursor.execute(LAST)
        return int(cursor.fetchone()[0])

    return in_turn(connection, last)


def first_position(connection: Connection) -> int:
    """Where the positions of the current log begin."""
    with errors_of(connection):
        cursor = connection.cursor()
        cursor.execute(FIRST)
        (first,) = cursor.fetchone()
        connection.commit()
    return int(first)


def now() -> int:
    """A position token for "now": follow from it to get only users committed later."""
    with prodev_connection() as connection:
        set_up(connection)
        return current_position(connection)


@contextmanager
def visiting() -> Iterator[int]:
    """For demos: set up the log, yield "now", and remove the log afterwards
    unless it was there before, so that seeding does not pay for the trigger."""
    with prodev_connection() as connection:
        was_there = is_set_up(connection)
        set_up(connection)
        position = current_position(connection)
    try:
        yield position
    finally:
        if not was_there:
            with prodev_connection() as connection:
                remove(connection)


class Feed:
    """A follower's connection and position in the log, reconnecting when lost.

    Use it as a context manager: the connection opens on entry (setting up
    the log if needed, and taking "now" as the position when ``after`` is
    None) and closes on exit.
    """

    def __init__(self, after: int | None = None) -> None:
        if after is not None:
            check_size("after", after, minimum=0)
        self.position = after
        self._connections = ExitStack()
        self._connection: Any = None

    def __enter__(self) -> Feed:
        try:
            self._connect()
            if self.position is None:
                self.position = current_position(self._connection)
        except BaseException:
            self.close()  # __exit__ does not run when __enter__ fails
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        self._connection = None
        self._connections.close()

    def wait(self) -> list[tuple[int, dict]]:
        """Block until users are committed after the position; return them, in order.

        Returns a non-empty list of ``(position, user)`` and moves the
        position past them. Between empty looks it sleeps, 2 ms at first,
        doubling to 100 ms; every CHECK_EVERY seconds of them it checks that
        its log is still whole and its own, and raises SetupError if not.
        """
        pause, checked = POLL_FIRST, time.monotonic()
        while True:
            check = time.monotonic() - checked >= CHECK_EVERY
            entries = self._look(check)
            if entries:
                self.position = entries[-1][0]
                users = [(position, user) for position, user in entries if user is not None]
                if users:
                    return users
                continue
            checked = time.monotonic() if check else checked
            time.sleep(pause)
            pause = min(pause * 2, POLL_MAX)

    def _connect(self) -> None:
        self._connection = self._connections.enter_context(prodev_connection())
        with errors_of(self._connection):
            # No gap locks: a positioner then holds nothing a writer could wait for.
            self._connection.backend.read_committed(self._connection)
            set_up(self._connection)
        if self.position is not None and self.position < first_position(self._connection):
            raise SetupError(earlier_log(self.position))

    def _look(self, check: bool = False) -> list[tuple[int, dict | None]]:
        """Position what has been committed since, then read after the position.

        With ``check``, first make sure the log is still whole and still the
        one the position belongs to.
        """
        lost_since = None
        while True:
            try:
                if self._connection is None:
                    self._connect()  # which checks the position against the log
                elif check:
                    self._check()
                position_all(self._connection)
                return read_after(self._connection, self.position)
            except SetupError as error:
                if not self._lost(error):
                    raise
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > RECONNECT_FOR:
                    raise
                self.close()
                time.sleep(RECONNECT_PAUSE)

    def _check(self) -> None:
        """Raise SetupError unless the log is whole and began at or before the position."""
        if not is_set_up(self._connection):
            raise SetupError(LOG_GONE)
        if self.position < first_position(self._connection):
            raise SetupError(earlier_log(self.position))

    def _lost(self, error: SetupError) -> bool:
        """Did the server go away (so that a new connection may carry on)?"""
        # With no connection, reconnecting failed: the server is not back yet.
        return isinstance(error, ConnectionLost) or self._connection is None


def main(argv: list[str] | None = None) -> int:
    """``python3 -m prodev.follow remove``: drop the trigger and the log."""
    if (sys.argv[1:] if argv is None else argv) != ["remove"]:
        print("usage: python3 -m prodev.follow remove", file=sys.stderr)
        return 2
    try:
        with prodev_connection() as connection:
            remove(connection)
    except SetupError as error:
        report(error)
        return 1
    print("follow: trigger and log removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

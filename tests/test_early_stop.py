"""A consumer that stops early leaves nothing behind, and does not wait for the rest.

Every pattern is stopped every way a consumer stops: ``islice``, ``break``, an
exception in the loop body, ``close()``, and a write to a closed pipe. After
that the connection is closed (SQLite: the connection object; MySQL: the
server's own session list is back where it was) and nothing was printed on
stderr: no "Exception ignored", no "Unread result found". On a large MySQL
table, taking six rows must not cost a read of the rest.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice

import pytest
from conftest import admin_query, load, open_connections, run_script, settled_sessions, wait_for

import seed
from prodev import connections

stream = load("0-stream_users")
batches = load("1-batch_processing")
pages = load("2-lazy_paginate")
keyset = load("5-keyset_paginate")
ages = load("4-stream_ages")
export = load("7-export_users")

Factory = Callable[[], Iterator[object]]
Seen = Callable[[object], None]

PATTERNS: dict[str, Factory] = {
    "stream_users": lambda: stream.stream_users(),
    "stream_users_in_batches": lambda: batches.stream_users_in_batches(7),
    "lazy_paginate": lambda: pages.lazy_paginate(7),
    "keyset_paginate": lambda: keyset.keyset_paginate(7),
    "stream_user_ages": lambda: ages.stream_user_ages(),
    "export pipeline": lambda: export.json_lines(
        export.pick_fields(export.keep_adults(export.stream_users(), 25), export.EXPORTED)
    ),
}


class StopReading(Exception):
    """Raised by a consumer's loop body."""


# Each way of stopping creates the iterator inline, as drivers do, so that
# nothing but the loop holds it when the loop ends.


def stop_with_islice(start: Factory, seen: Seen) -> None:
    for item in islice(start(), 3):
        seen(item)


def stop_with_break(start: Factory, seen: Seen) -> None:
    for item in start():
        seen(item)
        break


def stop_with_an_exception(start: Factory, seen: Seen) -> None:
    with pytest.raises(StopReading):
        for item in start():
            seen(item)
            raise StopReading


def stop_with_close(start: Factory, seen: Seen) -> None:
    items = start()
    seen(next(items))
    items.close()


def stop_with_a_closed_pipe(start: Factory, seen: Seen) -> None:
    """As ``./2-main.py | head``: the reader is gone, so the first write fails."""
    reader, writer = os.pipe()
    os.close(reader)
    with open(writer, "wb", buffering=0) as pipe, pytest.raises(BrokenPipeError):
        for item in start():
            seen(item)
            pipe.write(f"{item}\n".encode())


STOPS = {
    "islice": stop_with_islice,
    "break": stop_with_break,
    "exception": stop_with_an_exception,
    "close": stop_with_close,
    "closed pipe": stop_with_a_closed_pipe,
}


def record_connections(monkeypatch: pytest.MonkeyPatch) -> list[seed.Connection]:
    """Every connection seed opens from now on, for checking that it was closed."""
    opened: list[seed.Connection] = []
    real = connections.open_connection

    def spy(*args: object, **kwargs: object) -> seed.Connection:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(connections, "open_connection", spy)
    return opened


@pytest.fixture
def stderr(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """Read what the test printed on stderr, after finalising any garbage.

    Python's own hook is put back for the test: pytest's would turn an
    "Exception ignored in: <generator ...>" report into a warning, not
    stderr output, and the check would miss exactly the case it is for.
    """
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)

    def read() -> str:
        gc.collect()
        return capfd.readouterr().err

    return read


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_stopping_early_closes_the_connection_and_prints_nothing(
    pattern: str,
    stop: str,
    engine: str,
    seeded: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    stderr: Callable[[], str],
) -> None:
    on_mysql = engine == "mysql"
    before = settled_sessions() if on_mysql else 0
    opened = record_connections(monkeypatch)
    seen, during = [], []

    def consume(item: object) -> None:
        if not seen and on_mysql:
            during.append(open_connections())
        seen.append(item)

    STOPS[stop](PATTERNS[pattern], consume)

    assert seen, "the consumer got at least one item"
    assert len(opened) == 1
    if on_mysql:
        assert during == [before + 1], "the walk held its own session while running"
        assert wait_for(lambda: open_connections() == before), "a session was left open"
    else:
        assert not opened[0].is_connected()
    assert stderr() == ""


def test_the_curriculum_driver_taking_six_rows_leaves_nothing_behind(
    engine: str, seeded: dict[str, str]
) -> None:
    before = settled_sessions() if engine == "mysql" else 0

    result = run_script("1-main.py", env=seeded)

    assert result.returncode == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 6
    if engine == "mysql":
        assert wait_for(lambda: open_connections() == before)


# ------------------------------------------------------------- a large table

LARGE_ROWS = 200_000


@pytest.fixture
def large_table(empty_table: dict[str, str]) -> int:
    """user_data refilled with LARGE_ROWS generated users, by MariaDB's sequence engine."""
    engines = admin_query(
        "SELECT 1 FROM information_schema.ENGINES "
        "WHERE ENGINE = 'SEQUENCE' AND SUPPORT IN ('YES', 'DEFAULT')"
    )
    if not engines:
        pytest.skip("needs MariaDB's SEQUENCE engine (seq_1_to_N tables) to fill a large table")
    admin_query(
        "INSERT INTO user_data (user_id, name, email, age) "
        "SELECT UUID(), CONCAT('User ', seq), CONCAT('user', seq, '@example.com'), 18 + seq % 80 "
        f"FROM seq_1_to_{LARGE_ROWS}"
    )
    return LARGE_ROWS


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def take_six_and_close() -> list[dict]:
    users = stream.stream_users()
    first = list(islice(users, 6))
    users.close()
    return first


def take_six_then_read_the_rest() -> None:
    """What a polite close costs: every row nobody asked for still crosses the wire."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor(dictionary=True)
        cursor.execute("SELECT user_id, name, email, age FROM user_data ORDER BY user_id")
        for _ in range(6):
            cursor.fetchone()
        connection.consume_results()


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)  # unread rows are a server's
@pytest.mark.parametrize("use_pure", ["0", "1"], ids=["fast path", "public API"])
def test_taking_six_rows_of_a_large_table_does_not_read_the_rest(
    engine: str,
    large_table: int,
    use_pure: str,
    stderr: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYSQL_USE_PURE", use_pure)
    before = settled_sessions()

    full_read, count = timed(lambda: sum(1 for _ in stream.stream_users()))
    draining = min(timed(take_six_then_read_the_rest)[0] for _ in range(2))
    early_stop, first = min(timed(take_six_and_close) for _ in range(3))

    assert count == large_table
    assert len(first) == 6
    times = (
        f"6 rows + close {early_stop:.4f} s, 6 rows + drain {draining:.4f} s, all {full_read:.4f} s"
    )
    assert early_stop < full_read / 4, times
    # Sharper: reading and discarding the rest is much cheaper than making
    # dicts of it, so a close that drains could still pass the line above.
    assert early_stop < draining / 2, times
    assert wait_for(lambda: open_connections() == before), "the stopped query's session stayed"
    err = stderr()
    assert "Unread result" not in err
    assert "Exception ignored" not in err
    assert err == ""

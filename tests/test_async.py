"""Lesson 8, the streams as async generators: rows, stops, cancellation, errors.

Every guarantee runs on both engines (MySQL through mysql.connector.aio,
SQLite through aiosqlite). Stops are forced, not timed: a gate makes the
stream wait inside its own fetch, so a cancellation lands there. "Closed"
means every connection the backend's asyncio side opened was closed (and,
on MySQL, the server's session list is back where it was); "quiet" means
nothing reached stderr.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ROOT,
    admin_query,
    load,
    open_connections,
    run_script,
    server_settings,
    settled_sessions,
    table_rows,
    wait_for,
)
from support.helpers import one_line_error
from support.relay import Relay

import seed
from prodev import aio
from prodev.backends import chosen
from prodev.config import load_config

lesson = load("8-async_streams")
KEYS = ["user_id", "name", "email", "age"]


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


@pytest.fixture
def users(seeded: dict[str, str]) -> list[dict]:
    return [dict(zip(KEYS, row, strict=True)) for row in table_rows()]


class Opened:
    """Every connection the configured backend's asyncio side opens, and each close."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.connections: list[Any] = []
        self.closed: list[Any] = []
        streams = chosen(load_config()).aio
        connect, close = streams.connect, streams.close

        async def spy_connect(*args: Any, **kwargs: Any) -> Any:
            self.connections.append(await connect(*args, **kwargs))
            return self.connections[-1]

        async def spy_close(connection: Any) -> None:
            await close(connection)
            self.closed.append(connection)

        monkeypatch.setattr(streams, "connect", spy_connect)
        monkeypatch.setattr(streams, "close", spy_close)

    @property
    def all_closed(self) -> bool:
        return bool(self.connections) and self.closed == self.connections


@pytest.fixture
def opened(db_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Opened:
    return Opened(monkeypatch)


@pytest.fixture
def quiet_stderr(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], str]:
    """What reached stderr, after garbage is collected (Python's own unraisable hook)."""
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)

    def read() -> str:
        gc.collect()
        return capfd.readouterr().err

    return read


class Gate:
    """Make every fetch after the first ``passing`` wait until ``open()`` (never, by default)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, passing: int = 1) -> None:
        self.fetched = 0
        self.waiting = asyncio.Event()
        self._opened: asyncio.Event | None = None
        real = aio.Rows.fetchmany

        async def gated(rows: aio.Rows, size: int) -> list[dict]:
            if self.fetched >= passing:
                self.waiting.set()
                self._opened = self._opened or asyncio.Event()
                await self._opened.wait()
            self.fetched += 1
            return await real(rows, size)

        monkeypatch.setattr(aio.Rows, "fetchmany", gated)


# ------------------------------------------------------------------ rows


def test_async_stream_users_yields_every_user_in_order(engine: str, users: list[dict]) -> None:
    streamed = run(collect(lesson.async_stream_users()))

    assert streamed == users
    assert all(list(user) == KEYS for user in streamed)
    assert all(type(user["age"]) is int for user in streamed)


@pytest.mark.parametrize("size", [1, 7, 100, 1000, 1001])
def test_batches_are_full_except_a_shorter_last(size: int, engine: str, users: list[dict]) -> None:
    batches = run(collect(lesson.async_stream_users_in_batches(size)))

    assert all(batches)
    assert all(len(batch) == size for batch in batches[:-1])
    assert [user for batch in batches for user in batch] == users


def test_the_streamed_average_is_exact(engine: str, seeded: dict[str, str]) -> None:
    average = run(lesson.async_average_age())

    assert average == Decimal("62.379")
    assert f"{average:.2f}" == "62.38"


def test_an_empty_table_yields_nothing_and_has_no_average(
    engine: str, empty_table: dict[str, str]
) -> None:
    assert run(collect(lesson.async_stream_users())) == []
    assert run(collect(lesson.async_stream_users_in_batches(10))) == []
    with pytest.raises(seed.SetupError, match="empty"):
        run(lesson.async_average_age())


def test_the_script_runs_two_streams_at_once(
    engine: str, seeded: dict[str, str], users: list[dict]
) -> None:
    result = run_script("8-async_streams.py", env=seeded)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        *(repr(user) for user in users[:3]),
        "Average age of users: 62.38",
    ]


# ------------------------------------------------------- the event loop


def test_other_tasks_run_between_every_two_batches(engine: str, seeded: dict[str, str]) -> None:
    """On MySQL the rows of a small table are all buffered: without a loop turn per
    batch, ``await fetchmany`` would return at once and the ticker would starve."""
    events: list[str] = []

    async def ticker() -> None:
        while True:
            events.append("tick")
            await asyncio.sleep(0)

    async def consume() -> None:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        async for _batch in lesson.async_stream_users_in_batches(50):
            events.append("batch")
        task.cancel()

    run(consume())

    assert events.count("batch") == 20
    assert ("batch", "batch") not in set(itertools.pairwise(events))


# ------------------------------------------------------------ stopping


async def stop_with_break(start: Callable[[], AsyncIterator[Any]], gate: Gate) -> None:
    async for _item in start():
        break


async def stop_with_aclose(start: Callable[[], AsyncIterator[Any]], gate: Gate) -> None:
    items = start()
    await anext(items)
    await items.aclose()


async def stop_with_cancel(start: Callable[[], AsyncIterator[Any]], gate: Gate) -> None:
    task = asyncio.create_task(collect(start()))
    await gate.waiting.wait()  # the stream is inside its second fetch
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def stop_with_timeout(start: Callable[[], AsyncIterator[Any]], gate: Gate) -> None:
    """The deadline is moved to "now" once the stream waits in its fetch (3.11+)."""
    if sys.version_info < (3, 11):  # noqa: UP036 (3.10 is supported) no asyncio.timeout: wait_for cancels the same way
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(collect(start()), 1.0)
        return
    loop = asyncio.get_running_loop()

    async def expire(deadline: asyncio.Timeout) -> None:
        await gate.waiting.wait()
        deadline.reschedule(loop.time())

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(None) as deadline:
            expiring = asyncio.create_task(expire(deadline))
            await collect(start())
    await expiring


STOPS = {
    "break": stop_with_break,
    "aclose": stop_with_aclose,
    "task.cancel": stop_with_cancel,
    "asyncio.timeout": stop_with_timeout,
}
STREAMS: dict[str, Callable[[], AsyncIterator[Any]]] = {
    "async_stream_users": lambda: lesson.async_stream_users(),
    "async_stream_users_in_batches": lambda: lesson.async_stream_users_in_batches(7),
}


@pytest.mark.parametrize("stop", STOPS)
@pytest.mark.parametrize("stream", STREAMS)
def test_every_way_of_stopping_closes_the_connection_quietly(
    stream: str,
    stop: str,
    engine: str,
    seeded: dict[str, str],
    opened: Opened,
    monkeypatch: pytest.MonkeyPatch,
    quiet_stderr: Callable[[], str],
) -> None:
    before = settled_sessions() if engine == "mysql" else 0

    async def scenario() -> None:
        gate = Gate(monkeypatch)
        await STOPS[stop](STREAMS[stream], gate)
        if stop == "break":
            # The dropped generator is closed by asyncio's finalizer hook, as a
            # task of its own: soon, but not before the loop gets a turn.
            deadline = time.monotonic() + 5
            while not opened.all_closed and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        assert opened.all_closed, "the connection was closed when the stop returned"

    run(scenario())

    assert len(opened.connections) == 1
    if engine == "mysql":
        assert wait_for(lambda: open_connections() == before), "a session was left open"
    assert quiet_stderr() == ""


LARGE = 100_000
INSERT = "INSERT INTO user_data (user_id, name, email, age) VALUES (%s, %s, %s, %s)"


@pytest.fixture
def many_users(empty_table: dict[str, str]) -> int:
    rows = [(f"id-{n:07}", f"User {n}", f"user{n}@example.com", 26 + n % 80) for n in range(LARGE)]
    with seed.prodev_connection() as connection:
        connection.cursor().executemany(INSERT, rows)
        connection.commit()
    return LARGE


def test_a_stop_does_not_read_the_unread_rows(
    engine: str, many_users: int, quiet_stderr: Callable[[], str]
) -> None:
    async def take_six() -> float:
        started = time.perf_counter()
        users = lesson.async_stream_users()
        for _ in range(6):
            await anext(users)
        await users.aclose()
        return time.perf_counter() - started

    async def read_all() -> tuple[float, int]:
        started = time.perf_counter()
        count = len(await collect(lesson.async_stream_users_in_batches(1000)))
        return time.perf_counter() - started, count

    whole, batches = run(read_all())
    early = min(run(take_six()) for _ in range(3))

    assert batches == LARGE // 1000
    assert early < whole / 4, f"6 rows + close {early:.3f} s, every row {whole:.3f} s"
    assert quiet_stderr() == ""


# -------------------------------------------------------------- failures


BAD_SIZES = [
    (0, ValueError),
    (-1, ValueError),
    (1.5, TypeError),
    ("10", TypeError),
    (None, TypeError),
]


@pytest.mark.parametrize(("bad", "error"), BAD_SIZES, ids=[repr(bad) for bad, _ in BAD_SIZES])
def test_a_bad_batch_size_fails_at_the_first_anext_before_any_connection(
    bad: object, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        pytest.fail("a connection was opened before the size was checked")

    monkeypatch.setattr(lesson, "query", refuse)

    async def first_batch() -> list[dict]:
        return await anext(lesson.async_stream_users_in_batches(bad))

    with pytest.raises(error):
        run(first_batch())


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_lost_server_is_one_line(
    engine: str, many_users: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = server_settings()
    with Relay(settings["MYSQL_HOST"], int(settings["MYSQL_PORT"])) as relay:
        monkeypatch.setenv("MYSQL_PORT", str(relay.port))

        async def read_until_cut() -> None:
            async for batch in lesson.async_stream_users_in_batches(100):
                if batch[0]["user_id"] == "id-0000500":
                    relay.cut(reset=True)

        with pytest.raises(seed.ConnectionLost) as lost:
            run(read_until_cut())

    assert "\n" not in str(lost.value)
    assert "lost the connection" in str(lost.value)


# The engine, the module that is missing, and what the one line must say.
MISSING = [
    ("mysql", "mysql.connector.aio", "mysql.connector.aio came in 8.3"),  # a driver before 8.3
    ("sqlite", "aiosqlite", "pip install aiosqlite"),
]


@pytest.mark.parametrize(("engine", "module", "says"), MISSING, indirect=["engine"])
def test_a_missing_asyncio_library_is_one_line(
    engine: str, module: str, says: str, seeded: dict[str, str]
) -> None:
    code = (
        f"import runpy, sys; sys.modules[{module!r}] = None; "  # what an import then raises
        "runpy.run_path('8-async_streams.py', run_name='__main__')"
    )
    assert says in one_line_error(run_script("-c", code, env=seeded))


def test_an_empty_table_ends_the_script_with_one_line(
    engine: str, empty_table: dict[str, str]
) -> None:
    assert "empty" in one_line_error(run_script("8-async_streams.py", env=empty_table))


# ------------------------------------------------------------------ TLS


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_the_greeting_says_whether_the_server_offers_tls(
    engine: str, db_env: dict[str, str]
) -> None:
    ((_, have_ssl),) = admin_query("SHOW VARIABLES LIKE 'have_ssl'")
    settings = server_settings()
    offers = run(aio_offers_tls(settings["MYSQL_HOST"], int(settings["MYSQL_PORT"])))
    assert offers == (have_ssl == "YES")


async def aio_offers_tls(host: str, port: int) -> bool:
    from prodev.backends.mysql import offers_tls

    return await offers_tls(host, port)


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_caller_who_requires_tls_gets_it_or_one_line_never_plain_text(
    engine: str, seeded: dict[str, str]
) -> None:
    ((_, have_ssl),) = admin_query("SHOW VARIABLES LIKE 'have_ssl'")
    streams = chosen(load_config()).aio

    async def connect_requiring_tls() -> str:
        connection = await streams.connect(load_config(), ssl_verify_cert=True)
        try:
            cursor = await streams.execute(connection, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            return (await streams.fetchmany(cursor, 1))[0]["Value"]
        finally:
            await streams.close(connection)

    if have_ssl == "YES":
        assert run(connect_requiring_tls()) != ""
    else:
        with pytest.raises(seed.SetupError) as refused:
            run(connect_requiring_tls())
        assert "SSL is required" in str(refused.value)
        assert "\n" not in str(refused.value)


# -------------------------------------------------------- static checks

ASYNC_GENERATORS = ["async_stream_users", "async_stream_users_in_batches"]


@pytest.mark.parametrize("name", ASYNC_GENERATORS)
def test_each_stream_is_an_async_generator_function_with_its_own_yield_and_loop(
    name: str,
) -> None:
    assert inspect.isasyncgenfunction(getattr(lesson, name))
    tree = ast.parse((ROOT / "8-async_streams.py").read_text())
    definition = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef) and node.name == name
    )
    assert any(isinstance(node, ast.Yield) for node in ast.walk(definition))
    loops = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)
    assert any(isinstance(node, loops) for node in ast.walk(definition))


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)  # it measures the MySQL stream
def test_the_benchmark_runs_and_reports_each_size(engine: str, tmp_path: Path) -> None:
    report = tmp_path / "ASYNC.md"
    env = {**os.environ, **server_settings(), "DB_ENGINE": "mysql"}
    result = run_script("bench/async_streams.py", "--quick", "--out", str(report), env=env)

    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in report.read_text().splitlines()]
    # two tables for each engine
    assert sum(len(row) > 2 and row[1].strip() == "2,000" for row in rows) == 4

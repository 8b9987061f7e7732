"""Self-tests for the fault-injection helpers in ``tests.support``.

They run against a private MariaDB (never the shared server on port 3306), so
they need ``mariadbd`` and ``mariadb-install-db``: skipped without them, except
under CI, where that fails.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import mysql.connector
import pytest
from conftest import wait_for
from mysql.connector import errorcode

from tests.support import private_server
from tests.support.helpers import free_port
from tests.support.private_server import SHARED_PORT, MySQLExecutor, connect, query
from tests.support.relay import Relay

# Sequence-engine table: ten million rows, far more than any socket buffer,
# so a reader is guaranteed to be mid-stream when the relay is cut.
BIG_QUERY = "SELECT seq FROM seq_1_to_10000000"
CUT_DEADLINE = 5.0  # seconds a client may take to notice a cut

private_mariadb = private_server.private_mariadb()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> MySQLExecutor:
    """This module's private server, shared by its tests."""
    private_server.require_mariadb()
    return request.getfixturevalue("private_mariadb")


@pytest.fixture()
def relay(server: MySQLExecutor) -> Iterator[Relay]:
    with Relay(server.host, server.port) as r:
        yield r


def connect_via(relay: Relay, server: MySQLExecutor, **extra: Any) -> Any:
    """A connection to ``server`` through ``relay``; the sequence engine needs a db."""
    return connect(server, port=relay.port, database="mysql", **extra)


class Reader(threading.Thread):
    """Runs one query on its own connection and records how it ended."""

    def __init__(self, connect: Callable[[], Any], sql: str, rows_before_ready: int) -> None:
        super().__init__(daemon=True)  # daemon: a hung reader must not hang pytest
        self.connect = connect
        self.sql = sql
        self.rows_before_ready = rows_before_ready
        self.ready = threading.Event()  # set once the query is in flight
        self.rows = 0
        self.error: BaseException | None = None
        self.failed_at: float | None = None

    def run(self) -> None:
        try:
            conn = self.connect()
            try:
                cur = conn.cursor(buffered=False)  # stream: rows come off the socket
                cur.execute(self.sql)
                if self.rows_before_ready == 0:
                    self.ready.set()
                for _ in cur:
                    self.rows += 1
                    if self.rows == self.rows_before_ready:
                        self.ready.set()
            finally:
                try:
                    conn.close()
                except mysql.connector.Error:
                    pass  # the connection is already broken; that is the point
        except mysql.connector.Error as exc:  # anything else fails loudly in the thread
            self.failed_at = time.monotonic()
            self.error = exc
        finally:
            self.ready.set()


# ----------------------------------------------------------------- Relay


def test_relay_returns_rows(relay: Relay, server: MySQLExecutor) -> None:
    conn = connect_via(relay, server)
    try:
        assert relay.connections == 1
        cur = conn.cursor()
        cur.execute("SELECT seq FROM seq_1_to_1000")
        assert [row[0] for row in cur.fetchall()] == list(range(1, 1001))
        # The relay must reach the private server, not anything else.
        cur.execute("SELECT @@port")
        assert cur.fetchall() == [(server.port,)]
    finally:
        conn.close()
    assert wait_for(lambda: relay.connections == 0)
    assert relay.accepted == 1


def test_relay_carries_large_payloads_both_ways(relay: Relay, server: MySQLExecutor) -> None:
    # Bigger than the relay's per-direction buffer, to exercise back-pressure.
    blob = "x" * (3 * 1024 * 1024)
    conn = connect_via(relay, server)
    try:
        cur = conn.cursor()
        cur.execute("SELECT LENGTH(%s), REPEAT('y', 3000000)", (blob,))
        length, echoed = cur.fetchone()
        assert length == len(blob)
        assert echoed == "y" * 3_000_000
    finally:
        conn.close()


@pytest.mark.parametrize("use_pure", [False, True], ids=["cext", "pure"])
@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_cut_breaks_streaming_reader(
    relay: Relay, server: MySQLExecutor, reset: bool, use_pure: bool
) -> None:
    reader = Reader(lambda: connect_via(relay, server, use_pure=use_pure),
                    BIG_QUERY, rows_before_ready=10_000)
    reader.start()
    assert reader.ready.wait(10), "reader never got going"
    assert reader.error is None, reader.error
    cut_at = time.monotonic()
    relay.cut(reset=reset)
    assert relay.connections == 0  # cut() is synchronous
    reader.join(CUT_DEADLINE + 5)
    assert not reader.is_alive(), "client hung after the cut"
    assert isinstance(reader.error, mysql.connector.Error), reader.error
    assert reader.failed_at is not None
    assert reader.failed_at - cut_at < CUT_DEADLINE
    assert 10_000 <= reader.rows < 10_000_000


def test_cut_breaks_client_waiting_for_reply(relay: Relay, server: MySQLExecutor) -> None:
    # The client sits in recv() with nothing arriving: the case that hangs
    # forever if a cut only stopped forwarding instead of closing.
    reader = Reader(lambda: connect_via(relay, server), "SELECT SLEEP(30)",
                    rows_before_ready=0)
    reader.start()
    assert wait_for(lambda: relay.connections == 1)
    time.sleep(0.3)  # let the query reach the server
    cut_at = time.monotonic()
    relay.cut()
    reader.join(CUT_DEADLINE + 5)
    assert not reader.is_alive(), "client hung after the cut"
    assert isinstance(reader.error, mysql.connector.Error), reader.error
    assert reader.failed_at is not None and reader.failed_at - cut_at < CUT_DEADLINE


def test_cut_rejects_new_connections_until_restore(relay: Relay, server: MySQLExecutor) -> None:
    relay.cut()
    assert relay.is_cut
    started = time.monotonic()
    with pytest.raises(mysql.connector.Error):
        connect_via(relay, server)
    assert time.monotonic() - started < CUT_DEADLINE
    assert relay.accepted == 1  # accepted, then closed at once (not refused)
    assert relay.connections == 0

    relay.restore()
    assert query(server, "SELECT 1", port=relay.port) == [(1,)]


def test_close_joins_its_thread_and_drops_connections(server: MySQLExecutor) -> None:
    threads_before = threading.active_count()
    relay = Relay(server.host, server.port)
    assert threading.active_count() == threads_before + 1
    conn = connect_via(relay, server)
    started = time.monotonic()
    relay.close()
    assert time.monotonic() - started < 5
    assert threading.active_count() == threads_before
    assert relay.connections == 0
    with pytest.raises(mysql.connector.Error):
        conn.cursor().execute("SELECT 1")
    conn.close()
    relay.close()  # idempotent
    relay.cut()  # harmless once closed


def test_unreachable_target_closes_client(server: MySQLExecutor) -> None:
    # A port that was free a moment ago: the upstream connect is refused.
    with Relay("127.0.0.1", free_port()) as relay:
        with pytest.raises(mysql.connector.Error):
            connect_via(relay, server)
        assert wait_for(lambda: relay.connections == 0)


def test_relay_refuses_non_loopback_target() -> None:
    threads_before = threading.active_count()
    with pytest.raises(ValueError):
        Relay("192.0.2.1", 3306)  # TEST-NET-1: never contacted, just rejected
    assert threading.active_count() == threads_before


# -------------------------------------------------------- private server


def test_the_private_server_is_not_the_shared_one_and_enforces_grants(
    server: MySQLExecutor,
) -> None:
    assert server.port != SHARED_PORT
    ((port, datadir, error_log, local_infile, bind_address),) = query(
        server, "SELECT @@port, @@datadir, @@log_error, @@local_infile, @@bind_address"
    )
    assert port == server.port
    # Its own folder for data and log: /etc/mysql (the shared server's) was not read.
    assert os.path.realpath(datadir).startswith(os.path.realpath(server.base_directory))
    assert os.path.realpath(error_log).startswith(os.path.realpath(server.base_directory))
    assert (local_infile, bind_address) == (1, "127.0.0.1")
    with pytest.raises(mysql.connector.Error) as denied:
        connect(server, password="wrong")
    assert denied.value.errno == errorcode.ER_ACCESS_DENIED_ERROR


def test_the_private_server_recovers_from_a_crash_on_the_same_port(
    server: MySQLExecutor,
) -> None:
    query(server, "CREATE DATABASE support_crash")
    try:
        query(server, "CREATE TABLE support_crash.t (id INT PRIMARY KEY) ENGINE=InnoDB")
        query(server, "INSERT INTO support_crash.t VALUES (1), (2), (3)")
        port, pid = server.port, server.process.pid

        server.kill()  # SIGKILL: no clean shutdown
        assert not server.running()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        with pytest.raises(mysql.connector.Error):
            connect(server)

        server.start()  # crash recovery on the same data directory and port
        assert server.port == port
        assert query(server, "SELECT COUNT(*) FROM support_crash.t") == [(3,)]
        server.stop()  # a clean shutdown, as at the end of the session
        server.start()
        assert query(server, "SELECT COUNT(*) FROM support_crash.t") == [(3,)]
    finally:
        query(server, "DROP DATABASE support_crash")

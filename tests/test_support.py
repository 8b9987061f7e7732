"""Self-tests for the fault-injection helpers in ``tests.support``.

They run against a private MariaDB (never the shared server on port 3306), so
they need ``mariadbd`` and ``mariadb-install-db`` and are skipped without them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import mysql.connector
import pytest
from mysql.connector import errorcode

from tests.support.private_server import (
    INSTALL_DB,
    MARIADBD,
    SHARED_PORT,
    PrivateServer,
    PrivateServerError,
)
from tests.support.relay import Relay

pytestmark = pytest.mark.skipif(
    not os.access(MARIADBD, os.X_OK) or shutil.which(INSTALL_DB) is None,
    reason="needs a local MariaDB installation (mariadbd, mariadb-install-db)",
)

# Sequence-engine table: ten million rows, far more than any socket buffer,
# so a reader is guaranteed to be mid-stream when the relay is cut.
BIG_QUERY = "SELECT seq FROM seq_1_to_10000000"
CUT_DEADLINE = 5.0  # seconds a client may take to notice a cut


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    """One private server shared by the relay tests (they never kill it)."""
    with PrivateServer() as srv:
        yield srv


@pytest.fixture()
def relay(server: PrivateServer) -> Iterator[Relay]:
    with Relay(server.host, server.port) as r:
        yield r


def connect_via(relay: Relay, server: PrivateServer, **extra: Any) -> Any:
    """A connection to ``server`` through ``relay``; the sequence engine needs a db."""
    args = server.connect_args(port=relay.port, database="mysql", connection_timeout=5)
    args.update(extra)
    return mysql.connector.connect(**args)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; the relay works asynchronously."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


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


def test_relay_returns_rows(relay: Relay, server: PrivateServer) -> None:
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


def test_relay_carries_large_payloads_both_ways(relay: Relay, server: PrivateServer) -> None:
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
    relay: Relay, server: PrivateServer, reset: bool, use_pure: bool
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


def test_cut_breaks_client_waiting_for_reply(relay: Relay, server: PrivateServer) -> None:
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


def test_cut_rejects_new_connections_until_restore(relay: Relay, server: PrivateServer) -> None:
    relay.cut()
    assert relay.is_cut
    started = time.monotonic()
    with pytest.raises(mysql.connector.Error):
        connect_via(relay, server)
    assert time.monotonic() - started < CUT_DEADLINE
    assert relay.accepted == 1  # accepted, then closed at once (not refused)
    assert relay.connections == 0

    relay.restore()
    conn = connect_via(relay, server)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    finally:
        conn.close()


def test_close_joins_its_thread_and_drops_connections(server: PrivateServer) -> None:
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


def test_unreachable_target_closes_client(server: PrivateServer) -> None:
    # A port that was free a moment ago: the upstream connect is refused.
    with Relay("127.0.0.1", _unused_port()) as relay:
        with pytest.raises(mysql.connector.Error):
            connect_via(relay, server)
        assert wait_for(lambda: relay.connections == 0)


def test_relay_refuses_non_loopback_target() -> None:
    threads_before = threading.active_count()
    with pytest.raises(ValueError):
        Relay("192.0.2.1", 3306)  # TEST-NET-1: never contacted, just rejected
    assert threading.active_count() == threads_before


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --------------------------------------------------------- PrivateServer


def test_private_server_lifecycle_and_crash() -> None:
    srv = PrivateServer()
    try:
        srv.start()
        # Reported by `pytest -s`: how long a fault test pays for its server.
        print(f"\nprivate server start: {srv.start_seconds:.2f}s "
              f"(install {srv.install_seconds:.2f}s, boot {srv.boot_seconds:.2f}s)")
        assert srv.start_seconds < 60
        assert srv.port is not None and srv.port != SHARED_PORT
        tmpdir = srv.tmpdir
        assert tmpdir is not None and os.path.isdir(tmpdir)

        conn = mysql.connector.connect(**srv.connect_args())
        cur = conn.cursor()
        cur.execute("SELECT @@port, @@datadir, @@socket, @@local_infile")
        port, datadir, sock, local_infile = cur.fetchone()
        assert port == srv.port
        assert os.path.realpath(datadir).startswith(os.path.realpath(tmpdir))
        assert sock == srv.socket_path
        assert local_infile == 1
        conn.close()

        # Grants are enforced (no --skip-grant-tables).
        with pytest.raises(mysql.connector.Error) as denied:
            mysql.connector.connect(**srv.connect_args(password="wrong"))
        assert denied.value.errno == errorcode.ER_ACCESS_DENIED_ERROR

        pid = srv.pid
        assert pid is not None
        srv.kill()
        assert not srv.running
        assert srv.process is not None and srv.process.returncode == -signal.SIGKILL
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped: the pid is gone
        with pytest.raises(mysql.connector.Error):
            mysql.connector.connect(**srv.connect_args(connection_timeout=5))
    finally:
        srv.close()
    assert not os.path.exists(tmpdir)
    srv.close()  # idempotent


def test_private_server_recovers_after_crash_and_stops_cleanly() -> None:
    with PrivateServer() as srv:
        conn = mysql.connector.connect(**srv.connect_args(autocommit=True))
        cur = conn.cursor()
        cur.execute("CREATE DATABASE faults")
        cur.execute("CREATE TABLE faults.t (id INT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute("INSERT INTO faults.t VALUES (1), (2), (3)")
        conn.close()
        port = srv.port

        srv.kill()
        srv.start()  # crash recovery on the same datadir and port
        assert srv.port == port
        conn = mysql.connector.connect(**srv.connect_args())
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM faults.t")
        assert cur.fetchone() == (3,)
        conn.close()

        assert srv.stop() == 0  # clean shutdown
        assert not srv.running
        srv.start()  # restart after a clean stop too
        with pytest.raises(PrivateServerError):
            srv.start()  # but not while already running
        tmpdir = srv.tmpdir
    assert tmpdir is not None and not os.path.exists(tmpdir)

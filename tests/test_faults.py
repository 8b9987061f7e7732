"""Faults: no server, refused logins, bad settings, a server that goes away.

Every entry point must fail with one line a user can act on (no traceback,
never the password), or fall back to SQLite under ``DB_ENGINE=auto`` when
nothing answers at all. A server that goes away in the middle of a stream
must give the consumer an exception within seconds and leave no connection,
socket or thread behind; one that goes away in the middle of a load must
leave the table exactly as it was, and a re-run must then load the file
exactly.

Anything that dies here is this module's private ``mariadbd`` (pytest-mysql's
``mysql_proc``, see ``tests/support/private_server.py``) or a loopback ``Relay``
the test cuts: the shared server only ever sees refused logins.
"""

from __future__ import annotations

import inspect
import itertools
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mysql.connector
import pytest
from conftest import load, require_mysql, run_script, server_settings, wait_for

import seed
from prodev import resume
from prodev.backends.mysql import CONNECT_TIMEOUT
from tests.support import private_server
from tests.support.helpers import (
    CANARY,
    SAMPLE_CSV,
    error_texts,
    file_rows,
    free_port,
    lesson_streams,
    one_line_error,
    open_fds,
    write_users_csv,
)
from tests.support.private_server import MySQLExecutor, freeze, query
from tests.support.relay import Relay

STREAMER = "streamer"  # the private server's user, logging in with CANARY
STREAM_DB = "faults_stream"
SAMPLE_ROWS = 1_000

STREAM_TABLE_ROWS = 300_000  # far more than every socket buffer on the way
LOAD_FILE_ROWS = 300_000  # large enough that the load is still running when cut
ROWS_BEFORE_FAULT = 20_000  # uncommitted rows the load has written when the fault hits
CUT_DEADLINE = 10.0  # seconds a consumer may take to notice that its server is gone
FROZEN_DEADLINE = 40.0  # ... and to give up on a server that has gone silent
SUBPROCESS_TIMEOUT = 180.0

ENTRY_POINTS = [
    ["seed.py"],
    *(["main.py", str(task)] for task in range(5)),
    ["main.py"],
    ["0-stream_users.py"],
    ["1-batch_processing.py"],
    ["2-lazy_paginate.py"],
    ["4-stream_ages.py"],
]
ENTRY_IDS = [" ".join(args) for args in ENTRY_POINTS]

# The streams that hold one query open; the paginators open one per page.
STREAMS = {
    name: start
    for name, start in lesson_streams(batch_size=100, page_size=100).items()
    if name in ("stream_users", "stream_users_in_batches", "stream_user_ages")
}


# ------------------------------------------------------------------- helpers


def settings_env(**settings: str) -> dict[str, str]:
    """The environment for a subprocess: ours, with every seed setting given explicitly.

    MYSQL_HOSTS is set empty so that a developer's .env cannot redirect the run.
    """
    return {**os.environ, "PYTHONUNBUFFERED": "1", "MYSQL_HOSTS": "", **settings}


def private_settings(port: int, database: str) -> dict[str, str]:
    """seed's settings for ``database`` on the private server (or its relay) at ``port``."""
    return {
        "DB_ENGINE": "mysql",
        "MYSQL_HOST": "127.0.0.1",
        "MYSQL_PORT": str(port),
        "MYSQL_HOSTS": "",
        "MYSQL_USER": STREAMER,
        "MYSQL_PASSWORD": CANARY,
        "MYSQL_DATABASE": database,
    }


def point_seed_at(monkeypatch: pytest.MonkeyPatch, port: int, database: str) -> None:
    """Make seed, in this process, use ``database`` at ``port``."""
    for key, value in private_settings(port, database).items():
        monkeypatch.setenv(key, value)


def is_lost_connection(error: BaseException | None) -> bool:
    """A driver error, or seed's ConnectionLost wrapping one."""
    if isinstance(error, seed.ConnectionLost):
        return isinstance(error.__cause__, mysql.connector.Error)
    return isinstance(error, mysql.connector.Error)


def assert_same_rows(actual: set[tuple], expected: set[tuple], when: str) -> None:
    """Equal sets of rows, reported as counts and examples rather than a 300,000-row diff."""
    missing, extra = sorted(expected - actual), sorted(actual - expected)
    assert not missing and not extra, (
        f"{when}: {len(missing)} rows missing {missing[:2]}, {len(extra)} extra {extra[:2]}"
    )


# --------------------------------------------------------- the private server

private_mariadb = private_server.private_mariadb()
load_databases = (f"faults_load_{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[MySQLExecutor]:
    """This module's private server, where ``STREAMER`` logs in with the canary password.

    So every fault on it also checks that the password shows up nowhere. A
    test that kills it starts it again (crash recovery, same data and port).
    """
    private_server.require_mariadb()
    server = request.getfixturevalue("private_mariadb")
    for host in ("localhost", "127.0.0.1"):
        query(server, f"CREATE USER '{STREAMER}'@'{host}' IDENTIFIED BY %s", (CANARY,))
    yield server
    if not server.running():
        server.start()  # pytest-mysql ends with a clean shutdown


def grant(server: MySQLExecutor, database: str) -> None:
    for host in ("localhost", "127.0.0.1"):
        query(server, f"GRANT ALL ON {database}.* TO '{STREAMER}'@'{host}'")


def stored_rows(server: MySQLExecutor, database: str) -> set[tuple]:
    return set(query(server, f"SELECT user_id, name, email, age FROM {database}.user_data"))


def row_count(server: MySQLExecutor, database: str, *, dirty: bool = False) -> int:
    return query(server, f"SELECT COUNT(*) FROM {database}.user_data", dirty=dirty)[0][0]


def own_fds(server: MySQLExecutor) -> int:
    """This process's open fds, less the two pipes pytest-mysql holds to a running server.

    (It keeps the server's stdin and stdout; a kill closes them.)
    """
    return open_fds() - (0 if server.process is None else 2)


def sessions(server: MySQLExecutor, database: str) -> int:
    """Client sessions the private server holds on ``database``."""
    rows = query(
        server,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = %s AND ID <> CONNECTION_ID()",
        (database,),
    )
    return rows[0][0]


@pytest.fixture(scope="module")
def stream_server(
    server: MySQLExecutor, tmp_path_factory: pytest.TempPathFactory
) -> MySQLExecutor:
    """The private server with STREAM_TABLE_ROWS users in STREAM_DB, for the mid-stream tests."""
    grant(server, STREAM_DB)
    header_only = write_users_csv(tmp_path_factory.mktemp("faults") / "none.csv", 0)
    created = run_script(
        "seed.py", str(header_only), env=settings_env(**private_settings(server.port, STREAM_DB))
    )
    assert created.returncode == 0, created.stderr
    query(
        server,
        f"INSERT INTO {STREAM_DB}.user_data (user_id, name, email, age) "
        "SELECT UUID(), CONCAT('User ', seq), CONCAT('user', seq, '@example.com'), "
        f"18 + seq % 80 FROM mysql.seq_1_to_{STREAM_TABLE_ROWS}",
    )
    return server


@pytest.fixture
def load_database(server: MySQLExecutor) -> Iterator[str]:
    """A database of one seeding fault's own on the private server, not created yet."""
    database = next(load_databases)
    grant(server, database)
    yield database
    if server.running():
        query(server, f"DROP DATABASE IF EXISTS {database}")


# ---------------------------------------------------------- no server at all


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database already seeded with the sample, for the auto fallback."""
    path = tmp_path / "fallback.sqlite3"
    result = run_script("seed.py", env=settings_env(DB_ENGINE="sqlite", SQLITE_PATH=str(path)))
    assert result.returncode == 0, result.stderr
    return path


def unreachable_env(engine: str, port: int, sqlite: Path) -> dict[str, str]:
    return settings_env(
        DB_ENGINE=engine,
        MYSQL_HOST="127.0.0.1",
        MYSQL_PORT=str(port),
        MYSQL_USER="root",
        MYSQL_PASSWORD=CANARY,
        MYSQL_DATABASE="faults_never_created",
        SQLITE_PATH=str(sqlite),
    )


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=ENTRY_IDS)
def test_no_server_is_one_line_naming_the_address_and_the_fix(
    args: list[str], closed_port: int, tmp_path: Path
) -> None:
    sqlite = tmp_path / "unused.sqlite3"
    result = run_script(*args, env=unreachable_env("mysql", closed_port, sqlite), timeout=60)

    line = one_line_error(result)
    assert f"cannot reach MySQL at 127.0.0.1:{closed_port}" in line
    assert "MYSQL_PORT" in line, "the line says how to fix it"
    assert result.stdout == ""
    assert CANARY not in result.stdout + result.stderr
    assert not sqlite.exists(), "DB_ENGINE=mysql never falls back"


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=ENTRY_IDS)
def test_no_server_under_auto_falls_back_to_sqlite_with_one_notice(
    args: list[str], closed_port: int, sqlite_file: Path
) -> None:
    result = run_script(*args, env=unreachable_env("auto", closed_port, sqlite_file), timeout=60)

    assert result.returncode == 0, result.stderr
    notices = result.stderr.strip().splitlines()
    assert len(notices) == 1, result.stderr
    assert notices[0].startswith("notice: ")
    assert f"127.0.0.1:{closed_port}" in notices[0]
    assert str(sqlite_file) in notices[0]
    assert result.stdout.strip(), "the entry point did its work on SQLite"
    assert CANARY not in result.stdout + result.stderr


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A port whose listener completes TCP handshakes but never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_a_port_that_never_greets_is_one_line_within_the_connect_timeout(
    mute_port: int, tmp_path: Path
) -> None:
    env = unreachable_env("mysql", mute_port, tmp_path / "unused.sqlite3")
    started = time.monotonic()

    line = one_line_error(run_script("seed.py", env=env, timeout=60))

    assert time.monotonic() - started < CONNECT_TIMEOUT + 10
    assert f"127.0.0.1:{mute_port}" in line


# ------------------------------------------------------------ refused logins

REFUSED_USERS = {
    "wrong password": lambda: server_settings()["MYSQL_USER"],
    "unknown user": lambda: "faults_no_such_user",
}


@pytest.mark.parametrize("args", ENTRY_POINTS, ids=ENTRY_IDS)
@pytest.mark.parametrize("engine", ["mysql", "auto"])
@pytest.mark.parametrize("who", REFUSED_USERS)
def test_refused_login_is_one_line_without_the_password_and_no_fallback(
    who: str, engine: str, args: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require_mysql(request)
    user = REFUSED_USERS[who]()
    sqlite = tmp_path / "never.sqlite3"
    env = settings_env(
        DB_ENGINE=engine,
        MYSQL_HOST=server_settings()["MYSQL_HOST"],
        MYSQL_PORT=server_settings()["MYSQL_PORT"],
        MYSQL_USER=user,
        MYSQL_PASSWORD=CANARY,
        MYSQL_DATABASE="faults_never_created",
        SQLITE_PATH=str(sqlite),
    )

    result = run_script(*args, env=env, timeout=60)

    line = one_line_error(result)
    assert f"access denied for user '{user}'" in line
    assert CANARY not in result.stdout + result.stderr
    assert "notice:" not in result.stderr
    assert not sqlite.exists(), "a server that refuses is never replaced by SQLite"


# -------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DB_ENGINE", "postgres"), ("MYSQL_DATABASE", "ALX_prodev`; DROP DATABASE mysql; --")],
)
def test_an_invalid_setting_is_one_line_naming_the_variable(
    variable: str, value: str, closed_port: int, tmp_path: Path
) -> None:
    env = unreachable_env("mysql", closed_port, tmp_path / "unused.sqlite3")
    env[variable] = value

    line = one_line_error(run_script("seed.py", env=env, timeout=60))

    assert variable in line
    assert "cannot reach" not in line, "the setting is checked before any connection"


# ------------------------------------------------- a server gone mid-stream


@dataclass
class StreamFault:
    """How a test takes the server away from a running stream."""

    server: MySQLExecutor
    inflict: Callable[[], None]
    relayed_connections: Callable[[], int]  # sockets a relay still holds (0 without one)
    server_survives: bool


@pytest.fixture(params=["relay cut (FIN)", "relay cut (RST)", "server killed"])
def stream_fault(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamFault]:
    server = request.getfixturevalue("stream_server")
    if request.param == "server killed":
        point_seed_at(monkeypatch, server.port, STREAM_DB)
        yield StreamFault(server, server.kill, lambda: 0, server_survives=False)
        server.start()
        return
    reset = request.param == "relay cut (RST)"
    with Relay(server.host, server.port) as relay:
        point_seed_at(monkeypatch, relay.port, STREAM_DB)
        yield StreamFault(
            server, lambda: relay.cut(reset=reset), lambda: relay.connections,
            server_survives=True,
        )


class Consumer(threading.Thread):
    """Takes ``first`` items of a stream, waits for ``resume``, then reads on until it fails."""

    def __init__(self, start: Callable[[], Iterator[Any]], first: int) -> None:
        super().__init__(daemon=True, name="stream consumer")  # a hang must not hang pytest
        self.start_stream = start
        self.first = first
        self.ready = threading.Event()  # set once the first items are in (or it failed)
        self.resume = threading.Event()
        self.stream: Iterator[Any] | None = None
        self.items_before = self.items_after = 0
        self.error: BaseException | None = None
        self.failed_at: float | None = None

    def run(self) -> None:
        try:
            self.stream = self.start_stream()
            for _ in range(self.first):
                next(self.stream)
                self.items_before += 1
            self.ready.set()
            if not self.resume.wait(60):
                return
            for _ in self.stream:
                self.items_after += 1
        except Exception as error:  # the point: whatever the consumer gets is recorded
            self.failed_at = time.monotonic()
            self.error = error
        finally:
            self.ready.set()


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    """Consumers a test starts; each is released and joined afterwards, however the test ended."""
    started: list[Consumer] = []
    yield started
    for consumer in started:
        consumer.resume.set()
        consumer.join(30)


@pytest.mark.parametrize("kind", STREAMS)
def test_server_gone_mid_stream_fails_fast_and_leaves_nothing(
    kind: str, stream_fault: StreamFault, consumers: list[Consumer]
) -> None:
    fds_before, threads_before = own_fds(stream_fault.server), threading.active_count()
    consumer = Consumer(STREAMS[kind], first=50)
    consumers.append(consumer)
    consumer.start()
    assert consumer.ready.wait(30), "the stream never started"
    assert consumer.error is None, consumer.error
    assert consumer.items_before == 50

    cut_at = time.monotonic()
    stream_fault.inflict()
    consumer.resume.set()
    consumer.join(CUT_DEADLINE + 5)

    assert not consumer.is_alive(), "the consumer hung after its server went away"
    print(f"\n{kind}: failed {consumer.failed_at - cut_at:.3f} s after the fault, "
          f"{consumer.items_after} items later: {consumer.error!r}")
    assert is_lost_connection(consumer.error), repr(consumer.error)
    assert consumer.failed_at - cut_at < CUT_DEADLINE
    assert "connection" in str(consumer.error).lower()
    assert CANARY not in error_texts(consumer.error)
    assert consumer.items_after < STREAM_TABLE_ROWS, "it failed before the end of the table"
    assert inspect.getgeneratorstate(consumer.stream) == inspect.GEN_CLOSED
    assert stream_fault.relayed_connections() == 0
    assert threading.active_count() == threads_before
    assert wait_for(lambda: own_fds(stream_fault.server) == fds_before), (
        f"{own_fds(stream_fault.server)} fds, {fds_before} before"
    )
    if stream_fault.server_survives:
        server = stream_fault.server
        assert wait_for(lambda: sessions(server, STREAM_DB) == 0), "the server kept the session"


@pytest.fixture
def frozen_server(
    stream_server: MySQLExecutor, consumers: list[Consumer]
) -> Iterator[MySQLExecutor]:
    """The stream server, for a test to freeze (SIGSTOP): thawed again afterwards.

    Frozen, it keeps its sockets open and sends nothing, like a host that lost
    power or a network that drops every packet: no FIN, no RST ever comes.
    (It depends on ``consumers`` so that it is thawed before they are joined.)
    """
    yield stream_server
    freeze(stream_server, False)


def test_a_server_gone_silent_mid_stream_fails_within_a_bounded_time(
    frozen_server: MySQLExecutor, consumers: list[Consumer], monkeypatch: pytest.MonkeyPatch
) -> None:
    point_seed_at(monkeypatch, frozen_server.port, STREAM_DB)
    consumer = Consumer(STREAMS["stream_users"], first=50)
    consumers.append(consumer)
    consumer.start()
    assert consumer.ready.wait(30), "the stream never started"
    assert consumer.error is None, consumer.error

    frozen_at = time.monotonic()
    freeze(frozen_server)
    consumer.resume.set()
    consumer.join(FROZEN_DEADLINE)

    assert not consumer.is_alive(), (
        f"the consumer still waits {FROZEN_DEADLINE:.0f} s after its server fell silent "
        f"({consumer.items_after} rows later): the connection has no read timeout"
    )
    assert is_lost_connection(consumer.error), repr(consumer.error)
    assert consumer.failed_at - frozen_at < FROZEN_DEADLINE
    assert inspect.getgeneratorstate(consumer.stream) == inspect.GEN_CLOSED


# ------------------------------------------- a keyset walk whose server goes away

keyset = load("5-keyset_paginate")
KEYSET_PAGE = 20_000
PAGES_BEFORE_CUT = 3
REFUSED_BEFORE_RESTORE = 3  # reconnects the walk must try (and be refused) first
AWAY_AT_LEAST = 0.5  # seconds the server stays away


@pytest.fixture
def keyset_relay(stream_server: MySQLExecutor, monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    """A relay to the stream server, which this process's settings point at."""
    with Relay(stream_server.host, stream_server.port) as relay:
        point_seed_at(monkeypatch, relay.port, STREAM_DB)
        yield relay


def restore_after_refusals(relay: Relay, refusals: int, seconds: float) -> threading.Thread:
    """Cut ``relay`` now; restore it once it has refused ``refusals`` connections
    and at least ``seconds`` have passed (so the walk must have retried, and waited)."""
    accepted = relay.accepted
    cut_at = time.monotonic()
    relay.cut()

    def restore() -> None:
        wait_for(lambda: relay.accepted >= accepted + refusals, timeout=30)
        time.sleep(max(0.0, cut_at + seconds - time.monotonic()))
        relay.restore()

    restorer = threading.Thread(target=restore, daemon=True, name="relay restorer")
    restorer.start()
    return restorer


def test_a_keyset_walk_whose_server_is_back_soon_resumes_with_every_user_once(
    keyset_relay: Relay, stream_server: MySQLExecutor
) -> None:
    expected = [row[0] for row in query(
        stream_server, f"SELECT user_id FROM {STREAM_DB}.user_data ORDER BY user_id"
    )]
    walk = keyset.keyset_paginate(KEYSET_PAGE)
    got = [user["user_id"] for _ in range(PAGES_BEFORE_CUT) for user in next(walk)]
    accepted = keyset_relay.accepted

    cut_at = time.monotonic()
    restorer = restore_after_refusals(keyset_relay, REFUSED_BEFORE_RESTORE, AWAY_AT_LEAST)
    got += [user["user_id"] for page in walk for user in page]
    restorer.join(30)

    assert keyset_relay.accepted - accepted > REFUSED_BEFORE_RESTORE  # refused, then back
    assert time.monotonic() - cut_at >= AWAY_AT_LEAST
    assert len(got) == len(expected) == STREAM_TABLE_ROWS
    assert got == expected, "every user once, in order"
    assert wait_for(lambda: sessions(stream_server, STREAM_DB) == 0)


def test_a_keyset_walk_whose_server_stays_away_gives_up_in_one_line_after_the_bound(
    keyset_relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resume, "RECONNECT_SECONDS", 1.5)
    walk = keyset.keyset_paginate(KEYSET_PAGE)
    next(walk)
    accepted = keyset_relay.accepted

    keyset_relay.cut()
    cut_at = time.monotonic()
    with pytest.raises(seed.ConnectionLost) as raised:
        next(walk)
    waited = time.monotonic() - cut_at

    message = str(raised.value)
    print(f"\ngave up after {waited:.2f} s, {keyset_relay.accepted - accepted} tries: {message}")
    assert "\n" not in message
    assert "tried to reconnect for 1.5 s" in message
    assert f"127.0.0.1:{keyset_relay.port}" in message
    assert CANARY not in error_texts(raised.value)
    assert 1.5 <= waited < 1.5 + resume.LONGEST_WAIT + CONNECT_TIMEOUT
    # At once, then 0.1, 0.3, 0.7 s later (the waits double), and at the bound.
    assert keyset_relay.accepted - accepted >= 4
    assert inspect.getgeneratorstate(walk) == inspect.GEN_CLOSED


def test_a_keyset_walk_that_cannot_reach_its_server_at_the_start_is_refused_at_once(
    keyset_relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyset_relay.cut()

    with pytest.raises(seed.SetupError) as raised:
        next(keyset.keyset_paginate(KEYSET_PAGE))

    assert not isinstance(raised.value, seed.ConnectionLost)
    assert "tried to reconnect" not in str(raised.value)
    assert keyset_relay.accepted == 1, "one try: nothing was lost, so nothing is retried"


# ------------------------------------------------- a server gone mid-load


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LOAD_FILE_ROWS users: the sample's 1,000, then generated ones."""
    path = tmp_path_factory.mktemp("faults") / "large.csv"
    return write_users_csv(path, LOAD_FILE_ROWS, sample_first=True)


@dataclass
class LoadFault:
    """How a test takes the server away from a running load, and brings it back."""

    settings: dict[str, str]  # where seed.py connects
    inflict: Callable[[], None]
    recover: Callable[[], None]


@pytest.fixture(params=["relay cut", "server killed"])
def load_fault(
    request: pytest.FixtureRequest, server: MySQLExecutor, load_database: str
) -> Iterator[LoadFault]:
    if request.param == "server killed":
        # InnoDB's crash recovery must roll the load back on restart.
        yield LoadFault(private_settings(server.port, load_database), server.kill, server.start)
        return
    with Relay(server.host, server.port) as relay:
        yield LoadFault(private_settings(relay.port, load_database), relay.cut, relay.restore)


def wait_until_loading(
    server: MySQLExecutor, database: str, rows: int, load: subprocess.Popen[str]
) -> bool:
    """True once the running load has written ``rows`` rows (uncommitted) to the table."""
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while load.poll() is None and time.monotonic() < deadline:
        if row_count(server, database, dirty=True) >= rows:
            return True
        time.sleep(0.02)
    return False


def test_server_gone_mid_load_commits_nothing_and_a_rerun_loads_the_file_exactly(
    load_fault: LoadFault,
    server: MySQLExecutor,
    load_database: str,
    large_csv: Path,
    spawn: Callable[..., subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    # A temporary folder of the test's own, to see that no spool file is left.
    env = settings_env(**load_fault.settings, TMPDIR=str(tmp_path))
    first = run_script("seed.py", str(SAMPLE_CSV), env=env)
    assert first.returncode == 0, first.stderr
    before = stored_rows(server, load_database)
    assert len(before) == SAMPLE_ROWS

    load = spawn("seed.py", str(large_csv), env=env)
    loading = wait_until_loading(server, load_database, SAMPLE_ROWS + ROWS_BEFORE_FAULT, load)
    assert loading, f"the load ended before the fault: make LOAD_FILE_ROWS bigger ({load.poll()=})"
    load_fault.inflict()
    out, err = load.communicate(timeout=SUBPROCESS_TIMEOUT)
    load_fault.recover()
    failed = subprocess.CompletedProcess(load.args, load.returncode, out, err)

    line = one_line_error(failed)
    assert "lost the connection" in line or "MySQL" in line, line
    assert CANARY not in out + err
    assert_same_rows(stored_rows(server, load_database), before, "after the interrupted load")
    assert list(tmp_path.iterdir()) == [], "the load left a file or folder under TMPDIR"
    assert wait_for(lambda: row_count(server, load_database, dirty=True) == SAMPLE_ROWS, 60), (
        "the interrupted load was never rolled back"
    )

    again = run_script("seed.py", str(large_csv), env=env, timeout=SUBPROCESS_TIMEOUT)

    assert again.returncode == 0, again.stderr
    assert f"{LOAD_FILE_ROWS} rows read" in again.stdout
    assert f"{LOAD_FILE_ROWS - SAMPLE_ROWS} inserted" in again.stdout
    assert CANARY not in again.stdout + again.stderr
    expected = set(file_rows(large_csv))
    assert_same_rows(stored_rows(server, load_database), expected, "after the re-run")

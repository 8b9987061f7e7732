"""The scripts on a 3-node MariaDB Galera cluster (issue 6).

The module starts its own cluster with ``scripts/cluster start`` in a private
directory under /tmp, on free ports (never the default ones, never 3306), and
stops it, removing the directory, whatever happens. The shared server on
127.0.0.1:3306 is the single-server reference: the same files are seeded
there into databases of this module's own, dropped at the end.

What is checked: seeded through node 1, the curriculum's drivers print through
nodes 2 and 3 exactly what they print through node 1 and on the single server;
the OFFSET pages are the single server's; a keyset walk, and a flat stream
over keyset pages, whose node is killed mid-way continue on another node with
every user exactly once, in order; and a load through one node is all or
nothing on every node. Without Galera the module is skipped, except under CI,
where that fails. The failover gap and the write-set limits are printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TypeVar

import mysql.connector
import pytest
from conftest import ROOT, load, require_mysql, run_script, server_settings, wait_for

import seed

T = TypeVar("T")

GALERA = Path("/usr/lib/galera/libgalera_smm.so")
CLUSTER = ROOT / "scripts" / "cluster"
NODES = (1, 2, 3)
PORT_BASES = range(4506, 5006, 100)  # candidate client ports of node 1
PORT_OFFSETS = (0, 10_000, 11_000, 12_000)  # client, gcomm, IST, SST (scripts/cluster)
START_TIMEOUT = 240  # seconds for `scripts/cluster start`, which gives up after 150
FAILOVER_LIMIT = 10.0  # seconds a walk may wait for its first item from another node

PREFIX = f"test_cluster_{os.getpid()}"
SAMPLE_DB = f"{PREFIX}_sample"  # the curriculum's 1,000 users
BIG_DB = f"{PREFIX}_big"  # BIG_ROWS generated users
DATABASES = (SAMPLE_DB, BIG_DB)
SAMPLE_ROWS, BIG_ROWS, LARGER_ROWS = 1_000, 10_000, 25_000
LOAD_DATA_SPLIT = 10_000  # rows per commit if wsrep_load_data_splitting were ON
TASKS = ("1-main.py", "2-main.py", "3-main.py", "4-stream_ages.py")
WSREP_LIMITS = ("wsrep_load_data_splitting", "wsrep_max_ws_rows", "wsrep_max_ws_size")

pages = load("2-lazy_paginate")
keyset = load("5-keyset_paginate")


# ----------------------------------------------------------------- servers


@dataclass(frozen=True)
class Server:
    """One MySQL-protocol server: a cluster node or the shared single server."""

    name: str
    host: str
    port: int
    user: str = "root"
    password: str = field(default="", repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def settings(self, database: str, *fallbacks: Server) -> dict[str, str]:
        """seed's configuration for this server first, then ``fallbacks``, in order."""
        return {
            "DB_ENGINE": "mysql",
            "MYSQL_HOST": self.host,  # MYSQL_HOSTS wins; these only document the first
            "MYSQL_PORT": str(self.port),
            "MYSQL_HOSTS": ",".join(server.address for server in (self, *fallbacks)),
            "MYSQL_USER": self.user,
            "MYSQL_PASSWORD": self.password,
            "MYSQL_DATABASE": database,
        }

    def env(self, database: str) -> dict[str, str]:
        """A subprocess environment using this server only."""
        return {**os.environ, **self.settings(database), "PYTHONUNBUFFERED": "1"}

    def query(self, sql: str, params: tuple = (), database: str | None = None) -> list[tuple]:
        """Run one statement on this server (autocommit) and return its rows."""
        connection = mysql.connector.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            connection_timeout=5,
            autocommit=True,
        )
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.with_rows else []
        finally:
            connection.close()

    def sessions(self, database: str) -> int:
        """Client sessions on ``database``, not counting this probe."""
        rows = self.query(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND ID <> CONNECTION_ID()",
            (database,),
        )
        return int(rows[0][0])

    def table_state(self, database: str) -> tuple[int, int]:
        """(row count, CHECKSUM TABLE) of user_data in ``database``."""
        count = self.query("SELECT COUNT(*) FROM user_data", database=database)[0][0]
        checksum = self.query("CHECKSUM TABLE user_data", database=database)[0][1]
        return int(count), int(checksum)

    def user_ids(self, database: str) -> list[str]:
        """Every user_id in user_id order, read with one plain query."""
        rows = self.query("SELECT user_id FROM user_data ORDER BY user_id", database=database)
        return [row[0] for row in rows]


@dataclass(frozen=True)
class Cluster:
    """A cluster run by scripts/cluster in ``directory`` on ``ports``."""

    directory: Path
    ports: tuple[int, int, int]

    def node(self, number: int) -> Server:
        return Server(f"node {number}", "127.0.0.1", self.ports[number - 1])

    def run(self, *args: str, timeout: float = START_TIMEOUT) -> str:
        """Run ``scripts/cluster args...``; fail the test with its output if it fails."""
        env = {
            **os.environ,
            "CLUSTER_DIR": str(self.directory),
            "CLUSTER_PORTS": ",".join(map(str, self.ports)),
            "CLUSTER_TIMEOUT": "150",
        }
        result = subprocess.run(
            [str(CLUSTER), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode:
            pytest.fail(f"scripts/cluster {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def kill(self, number: int) -> None:
        self.run("stop-node", str(number), timeout=60)


def skip_or_fail(message: str) -> None:
    """Skip on a developer's machine; under CI the cluster tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run the cluster tests)")
    pytest.skip(message)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports() -> tuple[int, int, int]:
    """Three client ports whose Galera companions (+10000, +11000, +12000) are free too."""
    for base in PORT_BASES:
        ports = (base, base + 1, base + 2)
        if all(port_is_free(port + offset) for port in ports for offset in PORT_OFFSETS):
            return ports
    pytest.fail(f"no free ports for a cluster among client ports {PORT_BASES}")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A private folder for the cluster and the CSV files, removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="test-cluster-", dir="/tmp"))
    folder.chmod(0o711)  # the nodes run as mysql and must reach their subfolder
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(workdir: Path) -> Iterator[Cluster]:
    """A running 3-node cluster of this module's own, stopped however the tests end."""
    missing = [
        what
        for what, present in (
            (f"galera-4 ({GALERA})", GALERA.exists()),
            ("rsync", shutil.which("rsync")),
            ("mariadbd", Path("/usr/sbin/mariadbd").exists()),
        )
        if not present
    ]
    if missing:
        skip_or_fail(f"cannot start a Galera cluster: missing {', '.join(missing)}")
    running = Cluster(workdir / "cluster", free_ports())
    try:
        running.run("start")
        yield running
    finally:
        running.run("stop", timeout=180)


@pytest.fixture(scope="module")
def single_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The shared server, with this module's databases dropped at the end."""
    require_mysql(request)
    settings = server_settings()
    server = Server(
        "single server",
        settings["MYSQL_HOST"],
        int(settings["MYSQL_PORT"]),
        settings["MYSQL_USER"],
        settings["MYSQL_PASSWORD"],
    )
    try:
        yield server
    finally:
        for database in DATABASES:
            server.query(f"DROP DATABASE IF EXISTS `{database}`")


def make_csv(path: Path, rows: int, data_seed: int) -> Path:
    """Write a deterministic CSV of ``rows`` users with bench/make_data.py."""
    options = {"--rows": rows, "--seed": data_seed, "--out": path}
    arguments = [str(part) for option in options.items() for part in option]
    result = run_script("bench/make_data.py", *arguments, env={**os.environ})
    assert result.returncode == 0, result.stderr
    return path


def seed_through(server: Server, database: str, csv: Path) -> subprocess.CompletedProcess[str]:
    """``python3 seed.py CSV`` against ``server`` only."""
    return run_script("seed.py", str(csv), env=server.env(database), timeout=300)


@pytest.fixture(scope="module")
def servers(cluster: Cluster, single_server: Server, workdir: Path) -> dict[str, Server]:
    """Both databases seeded through node 1 and on the single server, by name.

    Returns {"node 1": ..., "node 2": ..., "node 3": ..., "single server": ...},
    once every node holds every row.
    """
    files = {
        SAMPLE_DB: (ROOT / "user_data.csv", SAMPLE_ROWS),
        BIG_DB: (make_csv(workdir / "big.csv", BIG_ROWS, data_seed=0), BIG_ROWS),
    }
    nodes = [cluster.node(number) for number in NODES]
    for database, (csv, rows) in files.items():
        for server in (nodes[0], single_server):
            result = seed_through(server, database, csv)
            assert result.returncode == 0, result.stderr
            assert f"{rows} rows read, {rows} inserted" in result.stdout
        for node in nodes:  # Galera applies asynchronously on the other nodes
            assert wait_for(lambda node=node, db=database, n=rows: node.table_state(db)[0] == n, 30)
    return {**{node.name: node for node in nodes}, single_server.name: single_server}


@pytest.fixture
def all_nodes_up(cluster: Cluster) -> None:
    """Restart any node an earlier test killed (a no-op when all three run)."""
    cluster.run("start")


def point_at(
    monkeypatch: pytest.MonkeyPatch, database: str, server: Server, *fallbacks: Server
) -> None:
    """Configure seed, in this process, for ``server`` then ``fallbacks``."""
    for key, value in server.settings(database, *fallbacks).items():
        monkeypatch.setenv(key, value)


def report(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Print a measured figure in the test run's output."""
    with capsys.disabled():
        print(f"\n[cluster] {text}")


# --------------------------------------------------- the drivers on each node


@pytest.fixture(scope="module")
def task_output(servers: dict[str, Server]) -> Callable[[str, str], str]:
    """What a driver prints on a named server, run once per (driver, server)."""
    outputs: dict[tuple[str, str], str] = {}

    def output(script: str, name: str) -> str:
        if (script, name) not in outputs:
            result = run_script(script, env=servers[name].env(SAMPLE_DB))
            assert (result.returncode, result.stderr) == (0, ""), f"{script} on {name}"
            outputs[script, name] = result.stdout
        return outputs[script, name]

    return output


@pytest.mark.parametrize("name", ["node 2", "node 3", "single server"])
@pytest.mark.parametrize("script", TASKS)
def test_drivers_print_through_each_node_what_they_print_through_node_1(
    task_output: Callable[[str, str], str], script: str, name: str
) -> None:
    expected = task_output(script, "node 1")
    assert expected.strip(), f"{script} printed nothing through node 1"
    assert task_output(script, name) == expected


@pytest.mark.parametrize("node", NODES)
@pytest.mark.parametrize("page_size", [100, 7])
def test_offset_pages_on_each_node_are_the_single_servers(
    servers: dict[str, Server], monkeypatch: pytest.MonkeyPatch, node: int, page_size: int
) -> None:
    point_at(monkeypatch, SAMPLE_DB, servers["single server"])
    expected = list(pages.lazy_paginate(page_size))
    point_at(monkeypatch, SAMPLE_DB, servers[f"node {node}"])
    assert list(pages.lazy_paginate(page_size)) == expected
    assert sum(map(len, expected)) == SAMPLE_ROWS


# ------------------------------------------------------- loads: all or nothing


def cluster_states(servers: dict[str, Server], database: str) -> dict[str, tuple[int, int]]:
    """(row count, checksum) of user_data on each node."""
    return {f"node {n}": servers[f"node {n}"].table_state(database) for n in NODES}


@pytest.fixture(scope="module")
def larger_csv(workdir: Path) -> Path:
    """LARGER_ROWS users, most of them not in BIG_DB (another generator seed)."""
    return make_csv(workdir / "larger.csv", LARGER_ROWS, data_seed=1)


def test_write_set_limits_keep_a_load_in_one_transaction(
    servers: dict[str, Server], all_nodes_up: None, capsys: pytest.CaptureFixture[str]
) -> None:
    placeholders = ", ".join(["%s"] * len(WSREP_LIMITS))
    found = {
        f"node {n}": dict(
            servers[f"node {n}"].query(
                f"SHOW VARIABLES WHERE Variable_name IN ({placeholders})", WSREP_LIMITS
            )
        )
        for n in NODES
    }
    report(capsys, f"write-set limits: {found['node 1']}")
    for values in found.values():
        # ON would commit LOAD DATA every 10,000 rows: a failed load would leave a part.
        assert values["wsrep_load_data_splitting"] == "OFF"
        assert values["wsrep_max_ws_rows"] == "0"  # no row limit
        assert int(values["wsrep_max_ws_size"]) >= 2**30  # at least 1 GiB per transaction


def test_a_bad_row_at_the_end_changes_nothing_on_any_node(
    servers: dict[str, Server], all_nodes_up: None, larger_csv: Path, workdir: Path
) -> None:
    bad = workdir / "bad.csv"
    bad.write_text(larger_csv.read_text() + '\n"Bad Row","bad.row@example.com","-1"')
    before = cluster_states(servers, BIG_DB)
    assert set(before.values()) == {before["node 1"]} and before["node 1"][0] == BIG_ROWS

    result = seed_through(servers["node 1"], BIG_DB, bad)

    assert result.returncode == 1
    assert f"line {LARGER_ROWS + 2}: field 'age'" in result.stderr
    assert cluster_states(servers, BIG_DB) == before


def test_a_load_failing_at_commit_changes_nothing_on_any_node(
    servers: dict[str, Server],
    all_nodes_up: None,
    larger_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every row reaches node 1 in one transaction; a failed commit leaves no trace."""
    before = cluster_states(servers, BIG_DB)
    point_at(monkeypatch, BIG_DB, servers["node 1"])
    rows_in_transaction: list[int] = []
    with seed.prodev_connection() as connection:

        def failing_commit() -> None:
            cursor = connection.cursor()
            cursor.execute("SELECT COUNT(*) FROM user_data")
            rows_in_transaction.append(cursor.fetchall()[0][0])
            raise RuntimeError("commit failed (injected by the test)")

        monkeypatch.setattr(connection, "commit", failing_commit)
        with pytest.raises(RuntimeError, match="injected"):
            seed.insert_data(connection, larger_csv)

    # More than one LOAD DATA split's worth of new rows was loaded, uncommitted ...
    assert rows_in_transaction[0] > BIG_ROWS + LOAD_DATA_SPLIT
    # ... and rolled back everywhere.
    assert cluster_states(servers, BIG_DB) == before


# ------------------------------------------------ streams that lose their node


@dataclass
class KilledWalk:
    """What a consumer received while its node was killed mid-way."""

    items: list
    gap: float  # the longest wait for an item after the kill, in seconds


def consume_killing(
    items: Iterable[T], after: int, cluster: Cluster, victim: int, database: str
) -> KilledWalk:
    """Consume ``items``, killing node ``victim`` once ``after`` items came.

    Checks first that the consumer really reads from the victim.
    """
    received: list[T] = []
    waits: list[float] = []
    previous = killed = None
    for item in items:
        arrived = time.monotonic()
        if killed is not None:
            waits.append(arrived - previous)
        received.append(item)
        previous = arrived
        if len(received) == after:
            assert cluster.node(victim).sessions(database) >= 1, f"not reading from node {victim}"
            cluster.kill(victim)
            previous = killed = time.monotonic()
    assert waits, f"nothing came after node {victim} was killed"
    return KilledWalk(received, max(waits))


def check_every_row_once(
    got: list[str], expected: list[str], gap: float, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    """Report the failover gap and rows lost/duplicated, then assert the exact sequence."""
    lost, duplicated = len(set(expected) - set(got)), len(got) - len(set(got))
    report(
        capsys, f"{what}: failover gap {gap * 1000:.0f} ms, {lost} lost, {duplicated} duplicated"
    )
    assert got == expected
    assert gap < FAILOVER_LIMIT


def test_keyset_walk_continues_on_another_node_when_its_node_dies(
    servers: dict[str, Server],
    cluster: Cluster,
    all_nodes_up: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = servers["single server"].user_ids(SAMPLE_DB)
    point_at(monkeypatch, SAMPLE_DB, servers["node 2"], servers["node 3"], servers["node 1"])

    walk = consume_killing(keyset.keyset_paginate(50), 3, cluster, 2, SAMPLE_DB)

    assert [len(page) for page in walk.items] == [50] * (SAMPLE_ROWS // 50)
    got = [user["user_id"] for user in chain.from_iterable(walk.items)]
    check_every_row_once(got, expected, walk.gap, capsys, "keyset walk, pages of 50")


def test_flat_stream_over_keyset_pages_continues_when_its_node_dies(
    servers: dict[str, Server],
    cluster: Cluster,
    all_nodes_up: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = servers["single server"].user_ids(BIG_DB)
    point_at(monkeypatch, BIG_DB, servers["node 3"], servers["node 1"], servers["node 2"])
    users = (user for page in keyset.keyset_paginate(1000) for user in page)

    walk = consume_killing(users, 2_500, cluster, 3, BIG_DB)  # mid-way through page 3

    got = [user["user_id"] for user in walk.items]
    check_every_row_once(got, expected, walk.gap, capsys, "flat stream, pages of 1000")

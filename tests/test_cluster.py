"""The scripts on a 3-node MariaDB Galera cluster.

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
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import ROOT, load, require_mysql, run_script, wait_for

import seed
from prodev import follow
from prodev.produce import INSERT
from prodev.schema import LOG_BOUNDARY
from scripts.galera import (
    Cluster,
    Server,
    free_ports,
    missing_programs,
    private_folder,
    shared_server,
)
from tests.support.helpers import (
    Writers,
    check_exactly_once_in_commit_order,
    direct_connection,
    follow_until,
)

T = TypeVar("T")

NODES = (1, 2, 3)
PORT_BASES = range(4506, 5006, 100)  # candidate client ports of node 1
START_TIMEOUT = 150  # seconds for `scripts/cluster start` to see every node Synced
FAILOVER_LIMIT = 10.0  # seconds a walk may wait for its first item from another node

PREFIX = f"test_cluster_{os.getpid()}"
SAMPLE_DB = f"{PREFIX}_sample"  # the curriculum's 1,000 users
BIG_DB = f"{PREFIX}_big"  # BIG_ROWS generated users
FOLLOW_DB = f"{PREFIX}_follow"  # written and followed live
DATABASES = (SAMPLE_DB, BIG_DB)
SAMPLE_ROWS, BIG_ROWS, LARGER_ROWS = 1_000, 10_000, 25_000
LOAD_DATA_SPLIT = 10_000  # rows per commit if wsrep_load_data_splitting were ON
TASKS = ("1-main.py", "2-main.py", "3-main.py", "4-stream_ages.py")
WSREP_LIMITS = ("wsrep_load_data_splitting", "wsrep_max_ws_rows", "wsrep_max_ws_size")

pages = load("2-lazy_paginate")
keyset = load("5-keyset_paginate")


# ---------------------------------------------------------------- stopping


# A stand-in node: on SIGTERM its main thread ends while another thread goes
# on shutting down for a second, as a mariadbd's InnoDB and Galera threads do.
LINGERING_NODE = """
import ctypes, pathlib, signal, threading, time
def shut_down():
    while pathlib.Path("/proc/self/cmdline").read_bytes():  # the main thread is there
        time.sleep(0.01)
    time.sleep(1)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # the thread inherits it
threading.Thread(target=shut_down).start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM})
ctypes.CDLL(None).pthread_exit(None)
"""


def test_stopping_the_cluster_waits_until_each_node_has_exited(tmp_path: Path) -> None:
    """Not only its main thread: ``scripts/cluster stop`` returns with no node left."""
    stopped = Cluster(tmp_path / "cluster", free_ports(PORT_BASES))
    stopped.folder(1).mkdir(parents=True)
    node = subprocess.Popen(
        [sys.executable, "-c", LINGERING_NODE, f"--defaults-file={stopped.folder(1)}/my.cnf"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        (stopped.folder(1) / "launch.pid").write_text(f"{node.pid}\n")
        assert node.stdout.readline() == "ready\n" and stopped.pid(1) == node.pid

        stopped.stop()

        assert node.poll() is not None, "stop returned while the node was still running"
    finally:
        node.kill()
        node.communicate(timeout=10)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A private folder for the cluster and the CSV files, removed at the end."""
    folder = private_folder("test-cluster-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(workdir: Path) -> Iterator[Cluster]:
    """A running 3-node cluster of this module's own, stopped however the tests end."""
    if missing := missing_programs():
        message = f"cannot start a Galera cluster: missing {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run the cluster tests)")
        pytest.skip(message)
    with Cluster(workdir / "cluster", free_ports(PORT_BASES), START_TIMEOUT).running() as running:
        yield running


@pytest.fixture(scope="module")
def single_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The shared server, with this module's databases dropped at the end."""
    require_mysql(request)
    server = shared_server()
    try:
        yield server
    finally:
        for database in DATABASES:
            server.drop_database(database)


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
            cluster.run("stop-node", str(victim))
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


# case: (database, page size, node order (the first is killed), users read before the kill)
WALKS = {
    "pages of 50, node killed between pages": (SAMPLE_DB, 50, (2, 3, 1), 150),
    "pages of 1000, node killed mid-page": (BIG_DB, 1000, (3, 1, 2), 2_500),
}


@pytest.mark.parametrize("case", WALKS)
def test_a_keyset_walk_continues_on_another_node_when_its_node_dies(
    case: str,
    servers: dict[str, Server],
    cluster: Cluster,
    all_nodes_up: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database, page_size, order, after = WALKS[case]
    expected = servers["single server"].user_ids(database)
    point_at(monkeypatch, database, *(servers[f"node {number}"] for number in order))
    walk = keyset.keyset_paginate(page_size)
    users = ((number, user) for number, page in enumerate(walk) for user in page)

    killed = consume_killing(users, after, cluster, order[0], database)

    page_sizes = Counter(number for number, _ in killed.items)
    assert set(page_sizes.values()) == {page_size}
    got = [user["user_id"] for _, user in killed.items]
    check_every_row_once(got, expected, killed.gap, capsys, case)


# ------------------------------------------------------------- following live


def test_a_follower_on_node_2_gets_node_1s_commits_exactly_once_across_losing_its_node(
    servers: dict[str, Server],
    cluster: Cluster,
    all_nodes_up: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writers on node 1 hold transactions open and roll some back; the follower
    reads through node 2, which is killed mid-way, and carries on through node 3."""
    node_1, node_2, node_3 = (servers[f"node {n}"] for n in NODES)
    assert seed_through(node_1, FOLLOW_DB, ROOT / "user_data.csv").returncode == 0
    point_at(monkeypatch, FOLLOW_DB, node_2, node_3)
    start = follow.now()  # sets the log up through node 2; the DDL reaches every node
    got: list[str] = []
    follower = threading.Thread(
        target=follow_until, args=(start, "end.0@example.com", 120, got), daemon=True
    )
    follower.start()
    writers = Writers(connect=lambda: direct_connection(node_1, FOLLOW_DB))
    writing = threading.Thread(target=writers.run, args=(4, 10, 0.05, 0.25))
    writing.start()
    assert wait_for(lambda: len(got) >= 5, 30), "nothing came through node 2"
    assert node_2.sessions(FOLLOW_DB) >= 1, "the follower does not read from node 2"
    cluster.run("stop-node", "2")
    writing.join(120)
    with direct_connection(node_1, FOLLOW_DB) as connection:
        connection.cursor().execute(
            INSERT, (seed.user_id_for("end.0@example.com"), "E", "end.0@example.com", 1)
        )
        connection.commit()
    follower.join(120)

    assert not follower.is_alive() and got[-1] == "end.0@example.com"
    check_exactly_once_in_commit_order(got[:-1], writers.transactions)
    # The trigger (set up after the seed) fired on the writers' node only: applying
    # a row on another node does not fire it again, so one entry per committed user.
    entries = node_3.query(
        "SELECT COUNT(*) FROM user_data_log WHERE pos <> %s", (LOG_BOUNDARY,), FOLLOW_DB
    )[0][0]
    assert entries == len(got)

#!/usr/bin/env python3
"""A throwaway 3-node MariaDB Galera cluster on loopback, for tests, benchmarks and demos.

The one cluster helper: ``scripts/cluster start|stop|status|stop-node N`` runs
this file, and tests/test_cluster.py and bench/cluster.py import it for
``Cluster`` (the same commands from Python) and ``Server`` (one MySQL-protocol
server, a node or the shared single server, with the queries they share).

Settings: CLUSTER_DIR (default /tmp/streaming-cluster), CLUSTER_PORTS (default
4406,4407,4408), CLUSTER_TIMEOUT (seconds, default 120). A node with client
port P also uses P+10000 (Galera), P+11000 (IST) and P+12000 (SST). Nothing
under /etc/mysql, which belongs to the shared server, is ever read. The
command line needs only the standard library and the MariaDB client programs.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("cluster")
GALERA = Path("/usr/lib/galera/libgalera_smm.so")
MARIADBD = Path("/usr/sbin/mariadbd")
PORT_OFFSETS = (0, 10_000, 11_000, 12_000)  # client, Galera, IST, SST
MARK = ".streaming-cluster"  # stop only deletes a folder carrying this marker
NODES = (1, 2, 3)
# As root the nodes run as mysql: the rsync SST daemon would otherwise drop to
# nobody and be unable to write the joiner's root-owned 0700 data directory.
RUN_AS = "mysql" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


class ClusterError(Exception):
    """The cluster could not be started or stopped; the message says why and where."""


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

    def connect(self, database: str | None = None, autocommit: bool = False) -> Any:
        """A plain driver connection to this server alone; the caller closes it."""
        import mysql.connector  # here: the command line needs only the standard library

        return mysql.connector.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            connection_timeout=5,
            autocommit=autocommit,
        )

    def query(self, sql: str, params: tuple = (), database: str | None = None) -> list[tuple]:
        """Run one statement on this server (autocommit) and return its rows."""
        connection = self.connect(database, autocommit=True)
        try:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.with_rows else []
        finally:
            connection.close()

    def drop_database(self, database: str) -> None:
        self.query(f"DROP DATABASE IF EXISTS `{database}`")

    def status(self, name: str) -> str:
        return self.query("SHOW GLOBAL STATUS LIKE %s", (name,))[0][1]

    def variable(self, name: str) -> str:
        return self.query("SHOW GLOBAL VARIABLES LIKE %s", (name,))[0][1]

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


def shared_server() -> Server:
    """The shared server: MYSQL_HOST/PORT/USER/PASSWORD, default root@127.0.0.1:3306."""
    env = os.environ.get
    return Server(
        "single server",
        env("MYSQL_HOST", "127.0.0.1"),
        int(env("MYSQL_PORT", "3306")),
        env("MYSQL_USER", "root"),
        env("MYSQL_PASSWORD", ""),
    )


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (connections closing a moment ago do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(bases: range) -> tuple[int, int, int]:
    """Three client ports from one of ``bases`` whose Galera companions are free too."""
    for base in bases:
        ports = (base, base + 1, base + 2)
        if all(port_is_free(port + offset) for port in ports for offset in PORT_OFFSETS):
            return ports
    raise ClusterError(f"no free ports for a cluster among client ports {bases}")


def private_folder(prefix: str) -> Path:
    """A new folder under /tmp for a cluster, which nodes running as mysql can reach."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o711)
    return folder


def missing_programs() -> list[str]:
    """What a cluster needs and this machine lacks (empty when it can start one)."""
    needs = {
        f"galera-4 ({GALERA})": GALERA.exists(),
        "rsync": shutil.which("rsync"),
        f"mariadbd ({MARIADBD})": MARIADBD.exists(),
    }
    return [name for name, present in needs.items() if not present]


@dataclass(frozen=True)
class Cluster:
    """The cluster in ``directory`` on client ports ``ports``, one node per port."""

    directory: Path
    ports: tuple[int, ...]  # three
    timeout: float = 120.0  # seconds for start() to see every node Synced

    @classmethod
    def from_env(cls) -> Cluster:
        """The cluster that CLUSTER_DIR, CLUSTER_PORTS and CLUSTER_TIMEOUT name."""
        ports = tuple(int(p) for p in os.environ.get("CLUSTER_PORTS", "4406,4407,4408").split(","))
        if len(ports) != 3:
            raise ClusterError("CLUSTER_PORTS needs 3 ports")
        directory = Path(os.environ.get("CLUSTER_DIR", "/tmp/streaming-cluster"))
        return cls(directory, ports, float(os.environ.get("CLUSTER_TIMEOUT", "120")))

    def node(self, number: int) -> Server:
        return Server(f"node {number}", "127.0.0.1", self.ports[number - 1])

    def run(self, *args: str) -> str:
        """Run ``scripts/cluster args...`` for this cluster, as a user would; its output.

        The nodes then belong to no process of ours (they outlive the script).
        """
        env = {
            **os.environ,
            "CLUSTER_DIR": str(self.directory),
            "CLUSTER_PORTS": ",".join(map(str, self.ports)),
            "CLUSTER_TIMEOUT": str(self.timeout),
        }
        done = subprocess.run(
            [SCRIPT, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout + 180,
            check=False,  # start waits timeout, stop up to 3 x 30 s
        )
        if done.returncode:
            command = " ".join(args)
            raise ClusterError(f"scripts/cluster {command} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    @contextmanager
    def running(self) -> Iterator[Cluster]:
        """Start the cluster, and stop it (deleting its folder) however the block ends."""
        try:
            self.run("start")
            yield self
        finally:
            self.run("stop")

    def folder(self, number: int) -> Path:
        return self.directory / f"node{number}"

    # ------------------------------------------------------------ commands

    def start(self) -> str:
        """Start every node that is down (all of them: a fresh cluster); wait until Synced."""
        started = time.monotonic()
        deadline = started + self.timeout
        alive = [n for n in NODES if self.pid(n)]
        if len(alive) == 3:
            return f"cluster already running in {self.directory}\n{self.status()}"
        if not alive:
            self._create()
            self._launch(1, "--wsrep-new-cluster")
            self._wait_synced(1, 1, deadline)
            alive = [1]
        # Join missing nodes one at a time: a donor serves one SST at a time anyway.
        for number in NODES:
            if number not in alive:
                self._launch(number)
                self._wait_synced(number, len(alive) + 1, deadline)
                alive.append(number)
        for number in NODES:
            self._wait_synced(number, 3, deadline)
        ports = " ".join(map(str, self.ports))
        seconds = time.monotonic() - started
        return f"cluster up in {seconds:.0f}s: ports {ports}, dir {self.directory}"

    def stop_node(self, number: int) -> str:
        """Kill node ``number`` (SIGKILL: a crash, no clean leave from the cluster)."""
        pid = self.pid(number)
        if pid is None:
            return f"node{number} not running"
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 60)
        return f"node{number} (port {self.ports[number - 1]}) killed"

    def stop(self) -> str:
        """Stop every node (node 1, which bootstrapped, last) and delete the folder."""
        lines = []
        for number in reversed(NODES):
            pid = self.pid(number)
            if pid is None:
                continue
            # A joiner mid-SST has no SQL port and may wait on its donor: SIGTERM, 5 s grace.
            grace = 30.0
            if _client("mariadb-admin", self.ports[number - 1], "shutdown", timeout=10) is None:
                grace = 5.0
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, grace):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
                lines.append(f"node{number} killed after {grace:.0f}s")
        # An SST cut short (a node killed during a join) can leave its rsync daemon.
        for pid_file in self.directory.glob("node[123]/data/rsync_sst.pid"):
            pid = _read_pid(pid_file)
            if pid and "rsync" in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)
        if not (self.directory / MARK).exists():
            return "\n".join([*lines, f"no cluster in {self.directory}"])
        shutil.rmtree(self.directory)
        return "\n".join([*lines, f"cluster stopped, {self.directory} removed"])

    def status(self) -> str:
        lines = []
        for number in NODES:
            state = "down"
            if self.pid(number):
                size, comment = self._wsrep(number) or ("?", "not-answering")
                state = f"up size={size} state={comment}"
            lines.append(f"node{number} port={self.ports[number - 1]} {state}")
        return "\n".join(lines)

    # ------------------------------------------------------------ internals

    def pid(self, number: int) -> int | None:
        """Pid of node ``number`` if alive and really its mariadbd (pids get reused)."""
        marker = f"--defaults-file={self.folder(number)}/my.cnf"
        for name in ("launch.pid", "mariadbd.pid"):
            pid = _read_pid(self.folder(number) / name)
            if pid and marker in _cmdline(pid):
                return pid
        return None

    def _create(self) -> None:
        """A fresh folder with three installed nodes (any leftover is a crashed cluster)."""
        if self.directory.exists() and not (self.directory / MARK).exists():
            raise ClusterError(f"{self.directory} exists and is not a cluster folder")
        # Fail fast on a busy port: a joiner would only notice after its SST.
        for port in self.ports:
            for offset in PORT_OFFSETS:
                if not port_is_free(port + offset):
                    raise ClusterError(f"port {port + offset} already in use")
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        (self.directory / MARK).touch()
        for number in NODES:
            self._install(number)

    def _install(self, number: int) -> None:
        folder = self.folder(number)
        folder.mkdir()
        shutil.chown(folder, RUN_AS)
        (folder / "my.cnf").write_text(self._my_cnf(number))
        # Normal authentication: root@127.0.0.1 with an empty password, over TCP.
        command = ["mariadb-install-db", "--no-defaults", "--skip-test-db", f"--user={RUN_AS}"]
        command += [f"--datadir={folder}/data", "--auth-root-authentication-method=normal"]
        with open(folder / "install.log", "wb") as log:
            installed = subprocess.run(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        if installed.returncode:
            raise ClusterError(
                f"mariadb-install-db failed for node{number}:\n" + _tail(folder / "install.log")
            )

    def _my_cnf(self, number: int) -> str:
        folder, port = self.folder(number), self.ports[number - 1]
        gcomm, ist, sst = (port + offset for offset in PORT_OFFSETS[1:])
        members = ",".join(f"127.0.0.1:{p + PORT_OFFSETS[1]}" for p in self.ports)
        return f"""\
[mysqld]
user={RUN_AS}
datadir={folder}/data
socket={folder}/mariadbd.sock
pid-file={folder}/mariadbd.pid
log-error={folder}/error.log
port={port}
bind-address=127.0.0.1
local_infile=ON
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider={GALERA}
wsrep_cluster_name=streaming-cluster
wsrep_node_name=node{number}
wsrep_node_address=127.0.0.1
wsrep_cluster_address=gcomm://{members}
wsrep_provider_options="base_host=127.0.0.1;base_port={gcomm};\
gmcast.listen_addr=tcp://127.0.0.1:{gcomm};ist.recv_addr=127.0.0.1:{ist};gcache.size=64M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{sst}
"""

    def _launch(self, number: int, *options: str) -> None:
        """Start node ``number`` in a session of its own, detached from our output."""
        folder = self.folder(number)
        with open(folder / "console.log", "ab") as console:
            process = subprocess.Popen(
                [MARIADBD, f"--defaults-file={folder}/my.cnf", *options],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Ours: mariadbd.pid appears late, and is written by RUN_AS.
        (folder / "launch.pid").write_text(f"{process.pid}\n")
        # Until exec has set up its arguments, /proc/PID/cmdline is empty.
        while self.pid(number) is None and process.poll() is None:
            time.sleep(0.05)

    def _wsrep(self, number: int) -> tuple[str, str] | None:
        """(cluster size, local state) of node ``number``, or None if it does not answer."""
        output = _client(
            "mariadb",
            self.ports[number - 1],
            "-NB",
            "-e",
            "SHOW STATUS WHERE Variable_name IN "
            "('wsrep_cluster_size', 'wsrep_local_state_comment')",
        )
        values = dict(line.split("\t", 1) for line in (output or "").splitlines())
        if not values.get("wsrep_cluster_size"):
            return None
        return values["wsrep_cluster_size"], values.get("wsrep_local_state_comment", "")

    def _wait_synced(self, number: int, size: int, deadline: float) -> None:
        """Wait until node ``number`` is Synced in a cluster of at least ``size`` nodes."""
        state = None
        while time.monotonic() < deadline:
            if self.pid(number) is None:
                self._fail(number, "died during start")
            state = self._wsrep(number)
            if state and state[1] == "Synced" and int(state[0]) >= size:
                return
            time.sleep(1)
        self._fail(
            number,
            f"not Synced in a cluster of {size} after {self.timeout:.0f}s "
            f"(last: {' '.join(state) if state else 'no answer'})",
        )

    def _fail(self, number: int, what: str) -> None:
        folder = self.folder(number)
        log = _tail(folder / "error.log") or _tail(folder / "console.log")
        raise ClusterError(
            f"{log}\nnode{number} (port {self.ports[number - 1]}) {what}; "
            f"logs in {folder}, clean up with: scripts/cluster stop"
        )


def _client(program: str, port: int, *args: str, timeout: float = 10) -> str | None:
    """Output of a MariaDB client program run against 127.0.0.1:``port``, None if it failed."""
    command = [
        program,
        "--no-defaults",
        "-h127.0.0.1",
        f"-P{port}",
        "-uroot",
        "--connect-timeout=2",
        *args,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    """The command line of ``pid``, "" once its main thread has ended."""
    _reap(pid)
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child and has ended."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its parent reaps it


def _running(pid: int) -> bool:
    """Does any thread of process ``pid`` still run?

    Its command line is no test: it reads empty once the main thread has
    ended, while a node's other threads (InnoDB, Galera) can go on shutting
    down for seconds. A zombie with no thread left has exited; only its
    parent's reaping remains.
    """
    _reap(pid)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    ended = fields.get("State", "").strip().startswith(("Z", "X"))
    return not (ended and fields.get("Threads", "").strip() == "1")


def _wait_gone(pid: int, seconds: float) -> bool:
    """Wait up to ``seconds`` for every thread of ``pid`` to end; True if they did."""
    deadline = time.monotonic() + seconds
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main(argv: list[str]) -> int:
    usage = "usage: scripts/cluster start|stop|status|stop-node N"
    command = argv[0] if argv else ""
    try:
        cluster = Cluster.from_env()
        if command in ("start", "stop", "status") and len(argv) == 1:
            print(getattr(cluster, command)())
        elif command == "stop-node" and len(argv) == 2 and argv[1] in ("1", "2", "3"):
            print(cluster.stop_node(int(argv[1])))
        else:
            print(usage, file=sys.stderr)
            return 2
    except ClusterError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

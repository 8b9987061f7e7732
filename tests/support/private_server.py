"""A private, throwaway MariaDB server for tests that crash or stop the server.

Fault tests must never kill, stop or reconfigure the shared server on
127.0.0.1:3306, so ``PrivateServer`` builds a fresh data directory in a
``tempfile.mkdtemp()`` directory and runs its own ``mariadbd`` on a free
ephemeral port, with ``--no-defaults`` so that nothing under ``/etc/mysql``
(or ``~/.my.cnf``) is read and no default socket, port or datadir is used.

Root keeps normal password authentication with an empty password, and the
grant tables are kept, so access-denied tests behave like a real server.

Readiness is checked with a minimal MySQL-protocol login written with the
standard library only (so this module has no third-party dependency).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import weakref
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

__all__ = ["PrivateServer", "PrivateServerError"]

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"
SHARED_PORT = 3306  # the shared server: never ours to touch

# Kept small: several private servers may run at once next to the shared one.
_COMMON_ARGS = (
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
)


class PrivateServerError(RuntimeError):
    """The private server could not be set up, started or stopped."""


class PrivateServer:
    """A throwaway ``mariadbd`` with its own datadir, socket and TCP port.

    Typical use::

        with PrivateServer() as server:   # start() on enter, close() on exit
            conn = mysql.connector.connect(**server.connect_args())
            ...
            server.kill()                 # crash it (SIGKILL)
            server.start()                # crash recovery on the same datadir/port

    ``start()`` may be called again after ``kill()`` or ``stop()``: it reuses
    the data directory and the port, so clients can reconnect to the same
    address. ``close()`` kills the server if it is still running, reaps it and
    removes the temporary directory; the object cannot be restarted after that.
    """

    host = "127.0.0.1"
    user = "root"
    password = ""

    def __init__(
        self,
        *,
        startup_timeout: float = 60.0,
        shutdown_timeout: float = 30.0,
        extra_args: Sequence[str] = (),
        mariadbd: str = MARIADBD,
        install_db: str = INSTALL_DB,
    ) -> None:
        """Configure the server; nothing is created until ``start()``."""
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self.extra_args = tuple(extra_args)
        self.mariadbd = mariadbd
        self.install_db = install_db
        self.port: int | None = None
        self.tmpdir: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        # Durations of the last start(), in seconds (install is 0 on restarts).
        self.install_seconds = 0.0
        self.boot_seconds = 0.0
        self.start_seconds = 0.0
        self._closed = False
        # Shared with the finalizer, which must not hold a reference to self:
        # if a test forgets close(), the server and its files still go away.
        self._state: dict[str, Any] = {"process": None, "tmpdir": None}
        self._finalizer = weakref.finalize(self, _cleanup, self._state)

    # ------------------------------------------------------------ paths

    def _path(self, name: str) -> str:
        if self.tmpdir is None:
            raise PrivateServerError("server not started yet")
        return os.path.join(self.tmpdir, name)

    @property
    def datadir(self) -> str:
        """The server's data directory, inside ``tmpdir``."""
        return self._path("data")

    @property
    def socket_path(self) -> str:
        """The server's Unix socket, inside ``tmpdir``."""
        return self._path("sock")

    @property
    def error_log(self) -> str:
        """The server's error log, inside ``tmpdir``."""
        return self._path("err.log")

    @property
    def pid(self) -> int | None:
        """PID of the ``mariadbd`` process (also after it died, until restarted)."""
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        """True while the ``mariadbd`` process exists and has not been reaped."""
        return self.process is not None and self.process.poll() is None

    def connect_args(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``mysql.connector.connect`` (TCP, as root)."""
        if self.port is None:
            raise PrivateServerError("server not started yet")
        args: dict[str, Any] = {"host": self.host, "port": self.port,
                                "user": self.user, "password": self.password}
        args.update(overrides)
        return args

    def error_log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the error log (and early stderr output)."""
        chunks = []
        for name in ("err.log", "mariadbd.out"):
            try:
                with open(self._path(name), errors="replace") as f:
                    text = f.read()
            except (OSError, PrivateServerError):
                continue
            if text.strip():
                chunks.append(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(chunks) or "(no server log)"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> PrivateServer:
        """Install the datadir if needed, launch ``mariadbd``, wait until ready.

        Ready means a TCP login as root with the empty password succeeds.
        Raises ``PrivateServerError`` (with the error log tail) if the server
        exits or is not ready within ``startup_timeout`` seconds.
        """
        if self._closed:
            raise PrivateServerError("PrivateServer is closed")
        if self.running:
            raise PrivateServerError("server already running")
        t0 = time.monotonic()
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix="private-mariadb-")
            self._state["tmpdir"] = self.tmpdir
        if not os.path.isdir(self.datadir):
            self._install()
        t1 = time.monotonic()
        self.install_seconds = t1 - t0

        fixed_port = self.port is not None  # restart: clients expect the same port
        attempts = 1 if fixed_port else 3
        for attempt in range(attempts):
            if not fixed_port:
                self.port = _free_port()
            try:
                self._launch_and_wait(t1 + self.startup_timeout)
                break
            except _PortTaken:
                # Another process took the port between probe and bind.
                if attempt == attempts - 1:
                    raise PrivateServerError(
                        f"port {self.port} in use\n{self.error_log_tail()}") from None
        t2 = time.monotonic()
        self.boot_seconds = t2 - t1
        self.start_seconds = t2 - t0
        return self

    def kill(self) -> None:
        """Crash the server: SIGKILL, then reap the process. No-op if not running."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(self.shutdown_timeout)

    def stop(self) -> int | None:
        """Shut the server down cleanly (SIGTERM) and reap it.

        Returns the exit status (0 for a clean shutdown), or ``None`` if there
        was no process. Escalates to SIGKILL and raises ``PrivateServerError``
        if the shutdown takes longer than ``shutdown_timeout``.
        """
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.shutdown_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise PrivateServerError(
                    f"no clean shutdown within {self.shutdown_timeout}s; killed\n"
                    f"{self.error_log_tail()}") from None
        return self.process.returncode

    def close(self) -> None:
        """Kill the server if needed, reap it and delete the temp dir. Idempotent."""
        self._closed = True
        self._finalizer()  # runs _cleanup once; later calls are no-ops

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<PrivateServer 127.0.0.1:{self.port} pid={self.pid} {state} {self.tmpdir}>"

    # ------------------------------------------------------------ internals

    def _install(self) -> None:
        cmd = [
            self.install_db,
            "--no-defaults",  # must come first; keeps /etc/mysql out of it
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            f"--datadir={self.datadir}",
            *_COMMON_ARGS,
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, timeout=self.startup_timeout,
                                check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stdout.decode(errors="replace").splitlines()[-30:])
            raise PrivateServerError(f"mariadb-install-db failed ({result.returncode}):\n{tail}")

    def _launch_and_wait(self, deadline: float) -> None:
        assert self.port is not None and self.port != SHARED_PORT
        cmd = [
            self.mariadbd,
            "--no-defaults",  # must come first; keeps /etc/mysql out of it
            f"--datadir={self.datadir}",
            f"--socket={self.socket_path}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={self._path('mariadbd.pid')}",
            f"--log-error={self.error_log}",
            f"--tmpdir={self.tmpdir}",
            "--local-infile=ON",
            *_COMMON_ARGS,
            *self.extra_args,
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")  # mariadbd refuses to run as root otherwise
        # Truncate the log so a failure report shows only this start attempt.
        open(self.error_log, "w").close()
        with open(self._path("mariadbd.out"), "wb") as out:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT)
        self._state["process"] = self.process

        last_error: str = "no attempt"
        while True:
            if self.process.poll() is not None:
                log = self.error_log_tail()
                if "Address already in use" in log:
                    raise _PortTaken()
                raise PrivateServerError(
                    f"mariadbd exited with {self.process.returncode} during startup\n{log}")
            try:
                _probe_login(self.host, self.port, self.user, self.password, timeout=2.0)
                return
            except _LoginRefused as exc:
                # The server answered and said no: waiting will not help.
                self.kill()
                raise PrivateServerError(f"root login refused: {exc}\n"
                                         f"{self.error_log_tail()}") from None
            except OSError as exc:  # refused / reset / timeout: not listening yet
                last_error = repr(exc)
            if time.monotonic() > deadline:
                self.kill()
                raise PrivateServerError(
                    f"mariadbd not ready within {self.startup_timeout}s "
                    f"(last: {last_error})\n{self.error_log_tail()}")
            time.sleep(0.05)


class _PortTaken(Exception):
    """mariadbd could not bind its port (lost a race with another process)."""


class _LoginRefused(Exception):
    """The server sent an ERR packet during login."""


def _cleanup(state: dict[str, Any]) -> None:
    """Kill and reap the server process, then delete its temp dir."""
    process: subprocess.Popen[bytes] | None = state.get("process")
    if process is not None:
        if process.poll() is None:
            process.kill()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass  # unkillable (D state); leave it rather than hang the test run
    tmpdir = state.get("tmpdir")
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _free_port() -> int:
    """An ephemeral port that is free right now (the kernel never picks 3306)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# ---------------------------------------------------------------- protocol

_CLIENT_LONG_PASSWORD = 0x1
_CLIENT_PROTOCOL_41 = 0x200
_CLIENT_SECURE_CONNECTION = 0x8000
_CLIENT_PLUGIN_AUTH = 0x80000


def _read_packet(sock: socket.socket) -> tuple[int, bytes]:
    header = _read_exact(sock, 4)
    length = header[0] | header[1] << 8 | header[2] << 16
    return header[3], _read_exact(sock, length)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionResetError("server closed the connection during login")
        buf.extend(chunk)
    return bytes(buf)


def _send_packet(sock: socket.socket, seq: int, payload: bytes) -> None:
    sock.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload)


def _err_text(payload: bytes) -> str:
    code = struct.unpack_from("<H", payload, 1)[0]
    message = payload[3:]
    if message.startswith(b"#"):
        message = message[6:]  # skip the SQLSTATE marker
    return f"{code} {message.decode(errors='replace')}"


def _probe_login(host: str, port: int, user: str, password: str, timeout: float) -> None:
    """Log in over TCP with the MySQL protocol, then quit.

    Only empty passwords are supported: with ``mysql_native_password`` an empty
    password means an empty auth response, so no scrambling is needed.
    Raises ``OSError`` if the server is not (yet) reachable and
    ``_LoginRefused`` if it answers with an error.
    """
    if password:
        raise ValueError("the readiness probe only supports an empty password")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        seq, greeting = _read_packet(sock)
        if greeting[:1] == b"\xff":
            raise _LoginRefused(_err_text(greeting))
        flags = (_CLIENT_LONG_PASSWORD | _CLIENT_PROTOCOL_41
                 | _CLIENT_SECURE_CONNECTION | _CLIENT_PLUGIN_AUTH)
        response = (struct.pack("<IIB", flags, 1 << 24, 33) + bytes(23)
                    + user.encode() + b"\0"
                    + b"\0"  # auth response length 0: empty password
                    + b"mysql_native_password\0")
        _send_packet(sock, seq + 1, response)
        seq, reply = _read_packet(sock)
        if reply[:1] == b"\xfe":
            # Auth switch request: with mysql_native_password an empty
            # password is answered with empty auth data.
            _send_packet(sock, seq + 1, b"")
            seq, reply = _read_packet(sock)
        if reply[:1] == b"\xff":
            raise _LoginRefused(_err_text(reply))
        if reply[:1] != b"\x00":
            raise _LoginRefused(f"unexpected login reply {reply[:16]!r}")
        _send_packet(sock, 0, b"\x01")  # COM_QUIT, so the server logs no abort

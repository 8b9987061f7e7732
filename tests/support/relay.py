"""A loopback TCP relay that can sever its connections on demand.

Tests point a database client at ``Relay.port`` instead of the server's port;
``Relay.cut()`` then makes the server "go away" in the middle of a result set,
which is otherwise hard to provoke deterministically.

Design: one background thread runs a ``selectors`` loop over the listening
socket, every relayed socket pair, and a wake-up socketpair used to hand it
commands. All sockets are non-blocking, so nothing can wedge the loop: ``cut()``
and ``close()`` always complete within a bounded time, and ``close()`` joins the
only thread the relay ever starts.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

__all__ = ["Relay"]

# Per-direction buffer cap: stop reading a side while the other side has this
# much unsent data, so a slow client applies back-pressure to the server
# instead of the relay buffering an entire result set in memory.
_BUFFER_LIMIT = 256 * 1024
_RECV_SIZE = 64 * 1024
_CLIENT_SNDBUF = 64 * 1024


class _Link:
    """One relayed connection: the accepted client socket and its upstream."""

    __slots__ = (
        "client",
        "client_eof",
        "connecting",
        "registered",
        "to_client",
        "to_upstream",
        "upstream",
        "upstream_eof",
    )

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.connecting = True  # non-blocking connect to the target in flight
        self.to_upstream = bytearray()
        self.to_client = bytearray()
        # EOF seen on the side that *sends* into each buffer.
        self.client_eof = False
        self.upstream_eof = False
        # Event masks currently registered with the selector, per socket.
        self.registered: dict[socket.socket, int] = {}


class Relay:
    """Forward loopback TCP connections to one fixed target, with a kill switch.

    ``Relay(target_host, target_port)`` listens on ``127.0.0.1`` on a free
    ephemeral port (``.port``) and relays every accepted connection to the
    target. The target address is resolved once, here, and is the only address
    the relay ever connects to. It must be a loopback address unless
    ``allow_non_loopback=True``: these are test fixtures, not a general proxy.

    While "cut" (between ``cut()`` and ``restore()``) new connections are
    **accepted and then closed immediately** rather than refused: the listening
    socket stays open so the port remains stable and cannot be grabbed by
    another process. A MySQL client sees that as a lost connection while
    reading the server's greeting.

    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        allow_non_loopback: bool = False,
        join_timeout: float = 5.0,
    ) -> None:
        """Resolve the target, bind the listener and start the relay thread."""
        infos = socket.getaddrinfo(target_host, target_port, type=socket.SOCK_STREAM)
        if not infos:
            raise ValueError(f"cannot resolve {target_host!r}")
        family, _, _, _, sockaddr = infos[0]
        if not allow_non_loopback and not ipaddress.ip_address(sockaddr[0]).is_loopback:
            raise ValueError(f"refusing non-loopback relay target {sockaddr[0]}")
        self.target: tuple[str, int] = (sockaddr[0], sockaddr[1])
        self._target_family = family
        self._target_sockaddr = sockaddr
        self._join_timeout = join_timeout

        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._commands: list[Callable[[], None]] = []
        self._is_cut = False
        self._closed = False
        self._accepted = 0
        self._error: BaseException | None = None

        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind(("127.0.0.1", 0))
            self._listener.listen(64)
            self._listener.setblocking(False)
            self.port: int = self._listener.getsockname()[1]
            self._wake_r, self._wake_w = socket.socketpair()
        except BaseException:
            self._listener.close()
            raise
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "listener")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(
            target=self._run, name=f"Relay:{self.port}->{self.target[1]}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ API

    @property
    def connections(self) -> int:
        """Number of relayed connections currently open."""
        with self._lock:
            return len(self._links)

    @property
    def accepted(self) -> int:
        """Total connections accepted so far, including ones closed by a cut."""
        with self._lock:
            return self._accepted

    @property
    def is_cut(self) -> bool:
        """True between ``cut()`` and ``restore()``."""
        with self._lock:
            return self._is_cut

    def cut(self, *, reset: bool = False) -> None:
        """Close every live connection, both ways, and reject new ones.

        On return all previously live connections are closed on both sides
        (``connections == 0``). The client side is shut down with a FIN, like a
        server process that exits; ``reset=True`` sends a TCP RST instead
        (``SO_LINGER`` 0), like a host that vanished and lost its socket state.
        Data still buffered in the relay is discarded either way; after a FIN
        the client may first read what the kernel had already queued (a small,
        fixed send buffer keeps that to well under a second of rows), after an
        RST it fails at once.
        Until ``restore()``, new connections are accepted and closed at once.
        """
        with self._lock:
            # Set before the loop runs the command so that any connection
            # accepted from now on is rejected rather than relayed.
            self._is_cut = True
        self._call_in_loop(lambda: self._close_all(reset=reset))

    def restore(self) -> None:
        """Relay new connections normally again after ``cut()``."""
        with self._lock:
            self._is_cut = False

    def close(self) -> None:
        """Stop the relay: close all sockets and join the thread (bounded).

        Raises ``RuntimeError`` if the thread does not stop within
        ``join_timeout`` or if the relay loop died with an unexpected error.
        Idempotent.
        """
        with self._lock:
            already = self._closed
            self._closed = True
        if not already:
            self._wake()
        self._thread.join(self._join_timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"relay thread did not stop within {self._join_timeout}s")
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError("relay loop failed") from error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<Relay 127.0.0.1:{self.port} -> {self.target[0]}:{self.target[1]}"
                f" connections={self.connections} cut={self.is_cut}>")

    # ------------------------------------------------------- thread handoff

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # buffer full means a wake-up is already pending; closed means done

    def _call_in_loop(self, func: Callable[[], None]) -> None:
        """Run ``func`` on the relay thread and wait for it (bounded)."""
        done = threading.Event()

        def command() -> None:
            try:
                func()
            finally:
                done.set()

        with self._lock:
            if self._closed or not self._thread.is_alive():
                return  # nothing is live any more, so there is nothing to do
            self._commands.append(command)
        self._wake()
        if not done.wait(self._join_timeout) and self._thread.is_alive():
            raise RuntimeError("relay thread did not respond")

    # ------------------------------------------------------------ the loop

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed:
                        break
                    commands, self._commands = self._commands, []
                for command in commands:
                    command()
                for key, events in self._selector.select():
                    if key.data == "listener":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        self._service(key.data, key.fileobj, events)  # type: ignore[arg-type]
        except BaseException as exc:
            # Kept for close() to raise in the test's thread; re-raised so the
            # thread excepthook (and pytest's warning for it) reports it too.
            self._error = exc
            raise
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._close_all(reset=False)
        with self._lock:
            self._closed = True
            commands, self._commands = self._commands, []
        for command in commands:  # release anyone waiting in _call_in_loop
            command()
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. ECONNABORTED: the client gave up before accept
            with self._lock:
                self._accepted += 1
                rejecting = self._is_cut
            if rejecting:
                _hard_close(client, reset=False)
                continue
            client.setblocking(False)
            upstream = socket.socket(self._target_family, socket.SOCK_STREAM)
            upstream.setblocking(False)
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            try:
                upstream.connect(self._target_sockaddr)
                link.connecting = False
            except (BlockingIOError, InterruptedError):
                pass  # completion is signalled by writability
            except OSError:
                self._close_link(link, reset=False)
                continue
            # Small MySQL packets must not wait for Nagle on either hop.
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # The kernel still delivers its send queue before a FIN, so a large
            # auto-tuned queue (MBs on loopback) would let a client keep reading
            # for seconds after cut(); a small fixed one keeps the cut prompt.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _CLIENT_SNDBUF)
            self._update(link)

    def _service(self, link: _Link, sock: socket.socket, events: int) -> None:
        if link not in self._links:
            return  # closed earlier in this same select() batch
        try:
            if sock is link.upstream and link.connecting:
                if events & selectors.EVENT_WRITE:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect to relay target failed")
                    link.connecting = False
            else:
                if sock is link.client:
                    inbound, outbound = link.to_upstream, link.to_client
                else:
                    inbound, outbound = link.to_client, link.to_upstream
                if events & selectors.EVENT_WRITE and outbound:
                    sent = sock.send(outbound)
                    del outbound[:sent]
                if events & selectors.EVENT_READ:
                    data = sock.recv(_RECV_SIZE)
                    if data:
                        inbound.extend(data)
                    elif sock is link.client:
                        link.client_eof = True
                    else:
                        link.upstream_eof = True
            # Propagate a half-close once everything before it has been sent.
            if link.client_eof and not link.to_upstream and not link.connecting:
                _shutdown_write(link.upstream)
            if link.upstream_eof and not link.to_client:
                _shutdown_write(link.client)
            if link.client_eof and link.upstream_eof and not link.to_client \
                    and not link.to_upstream:
                self._close_link(link, reset=False)
                return
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close_link(link, reset=False)
            return
        self._update(link)

    def _update(self, link: _Link) -> None:
        """Re-register both sockets with exactly the events they need now."""
        want_client = 0
        want_upstream = 0
        if not link.client_eof and len(link.to_upstream) < _BUFFER_LIMIT:
            want_client |= selectors.EVENT_READ
        if link.to_client:
            want_client |= selectors.EVENT_WRITE
        if link.connecting:
            want_upstream = selectors.EVENT_WRITE
        else:
            if not link.upstream_eof and len(link.to_client) < _BUFFER_LIMIT:
                want_upstream |= selectors.EVENT_READ
            if link.to_upstream:
                want_upstream |= selectors.EVENT_WRITE
        for sock, want in ((link.client, want_client), (link.upstream, want_upstream)):
            have = link.registered.get(sock, 0)
            if want == have:
                continue
            if not have:
                self._selector.register(sock, want, link)
            elif not want:
                self._selector.unregister(sock)
            else:
                self._selector.modify(sock, want, link)
            link.registered[sock] = want

    def _close_link(self, link: _Link, *, reset: bool) -> None:
        for sock in link.registered:
            if link.registered[sock]:
                self._selector.unregister(sock)
        link.registered.clear()
        _hard_close(link.client, reset=reset)
        _hard_close(link.upstream, reset=reset)
        with self._lock:
            self._links.discard(link)

    def _close_all(self, *, reset: bool) -> None:
        with self._lock:
            links = list(self._links)
        for link in links:
            self._close_link(link, reset=reset)


def _shutdown_write(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # already shut down or reset: nothing left to signal


def _hard_close(sock: socket.socket, *, reset: bool) -> None:
    """Close ``sock`` now; with ``reset`` the peer gets an RST instead of a FIN."""
    try:
        if reset:
            # Linger 0 makes close() abort the connection with an RST.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected (yet / any more): close() below is all we need
    sock.close()

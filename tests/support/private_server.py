"""The throwaway MariaDB that fault tests crash, freeze and cut: pytest-mysql's ``mysql_proc``.

Fault tests never kill, stop or freeze the shared server on 127.0.0.1:3306.
``private_mariadb()`` makes a session fixture with pytest-mysql's process
factory: a fresh data directory under pytest's temporary folder and a
``mariadbd`` of its own on a free loopback port. A test ``kill()``s it
(SIGKILL) and ``start()``s it again on the same data directory and port, which
is InnoDB's crash recovery; ``freeze()`` stops it without closing a socket.

pytest-mysql runs ``mariadb-install-db`` and its server command without
``--no-defaults`` and with no way to add options to the install, so both would
read /etc/mysql/my.cnf, the shared server's configuration (there ``user =
mysql`` makes the install fail and ``log-error`` would send our log into the
shared server's). The two wrappers in ``bin/`` put ``--no-defaults`` first.
The server wrapper runs ``mariadbd`` itself, not ``mysqld_safe``: the process
pytest-mysql starts is then the server, the one a test kills or freezes.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import pytest
from pytest_mysql import factories
from pytest_mysql.executor import MySQLExecutor

__all__ = ["MySQLExecutor", "connect", "freeze", "private_mariadb", "query", "require_mariadb"]

MARIADBD = Path("/usr/sbin/mariadbd")
INSTALL_DB = "mariadb-install-db"
BIN = Path(__file__).with_name("bin")
SHARED_PORT = 3306  # the shared server: never ours to touch
# Kept small: a private server runs next to the shared one and other tests.
PARAMS = (
    "--bind-address=127.0.0.1 --local-infile=ON "
    "--innodb-buffer-pool-size=32M --innodb-log-file-size=16M"
)


def private_mariadb(extra_params: str = "") -> Callable[..., Iterator[MySQLExecutor]]:
    """A session fixture: one private server per test module that assigns it to a name.

    ``extra_params``: more server options (a TLS certificate, say).
    """
    return factories.mysql_proc(
        mysqld_exec=MARIADBD,  # only asked for its version
        mysqld_safe=BIN / "mariadbd",  # the command that runs the server
        install_db=str(BIN / "mariadb-install-db"),
        admin_executable="mariadb-admin",  # the clean shutdown at the end
        host="127.0.0.1",
        port=None,  # any free port; 3306 is the shared server's, so never that
        user=getpass.getuser(),
        params=f"{PARAMS} {extra_params}".strip(),
    )


def require_mariadb() -> None:
    """Skip without a local MariaDB to run privately; under CI that is a failure."""
    if os.access(MARIADBD, os.X_OK) and shutil.which(INSTALL_DB):
        return
    message = f"needs a local MariaDB ({MARIADBD}, {INSTALL_DB}) for private servers"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def connect(server: MySQLExecutor, **options: Any) -> Any:
    """A connection to ``server`` as its root (empty password), over TCP."""
    assert server.port != SHARED_PORT
    settings = {"host": server.host, "port": server.port, "user": "root", "password": ""}
    return mysql.connector.connect(**{**settings, "connection_timeout": 5, **options})


def query(
    server: MySQLExecutor, sql: str, params: tuple = (), *, dirty: bool = False, **options: Any
) -> list[tuple]:
    """Run one statement on ``server`` as root (autocommit) and return its rows.

    ``dirty`` reads uncommitted rows too: a load's rows show up while it runs.
    """
    connection = connect(server, autocommit=True, **options)
    try:
        cursor = connection.cursor()
        if dirty:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.with_rows else []
    finally:
        connection.close()


def freeze(server: MySQLExecutor, frozen: bool = True) -> None:
    """Stop (SIGSTOP) or resume (SIGCONT) the server: its sockets stay open, it says nothing.

    Like a host that lost power or a network that drops every packet: no FIN,
    no RST ever comes.
    """
    os.kill(server.process.pid, signal.SIGSTOP if frozen else signal.SIGCONT)

"""One backend per engine: everything that differs between MySQL and SQLite.

Each connection the package opens carries its backend (``connection.backend``,
a ``prodev.backends.base.Backend``): connecting, the SQL that is not
portable, early close, and the one funnel that turns the driver's errors
into the project's one-line ``SetupError``/``ConnectionLost``/``TryAgain``.
``chosen`` picks the backend the settings ask for.
"""

from __future__ import annotations

import functools
import sys
from contextlib import AbstractContextManager

from prodev.backends.base import Backend, Connection
from prodev.backends.mysql import MYSQL
from prodev.backends.sqlite import SQLITE
from prodev.config import Config

__all__ = ["MYSQL", "SQLITE", "Backend", "Connection", "chosen", "errors_of"]


@functools.cache
def chosen(config: Config) -> Backend:
    """The backend ``config`` asks for; for ``auto``, probed once per configuration.

    ``auto`` falls back to SQLite, with a one-line notice, only when no MySQL
    server answers: one that answers and refuses (bad password, missing
    privilege) is an error, never a reason to switch engines silently.
    """
    if config.engine == "sqlite":
        return SQLITE
    if config.engine == "auto" and MYSQL.nothing_answers(config):
        print(
            f"notice: no MySQL server answers at {config.address}; using SQLite file "
            f"{config.sqlite_path} (set DB_ENGINE=mysql to require MySQL)",
            file=sys.stderr,
        )
        return SQLITE
    return MYSQL


def errors_of(connection: Connection) -> AbstractContextManager[None]:
    """The funnel of ``connection``'s backend: driver errors leave it as SetupError."""
    return connection.backend.errors(connection)

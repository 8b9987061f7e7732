"""The settings: where the database is and which engine to use.

Settings come from the environment, with a ``.env`` file beside ``seed.py``
filling the gaps; the file is read once per process. ``.env.example``
documents every variable. Two rules keep a setting from quietly meaning
something else: an empty value counts as unset wherever it is (an exported
``MYSQL_DATABASE=`` does not hide the database ``.env`` names), and ``.env``
is read literally, without ``${VAR}`` expansion, so a password is sent as
written.
"""

from __future__ import annotations

import functools
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from prodev.errors import BadType, BadValue, SetupError, shown

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("auto", "mysql", "sqlite")
# How seeding writes rows: LOAD DATA LOCAL INFILE where the server allows it
# (auto), always (load-data), or batched INSERTs (insert).
LOAD_METHODS = ("auto", "load-data", "insert")
KEYS = (
    "DB_ENGINE",
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_HOSTS",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "SQLITE_PATH",
    "LOAD_METHOD",
    "SQLITE_TIMEOUT",
    "MYSQL_USE_PURE",
    "MYSQL_IO_TIMEOUT",
    "SEED_LOCK_WAIT",
)
# Sent to the server as text: bytes that are not UTF-8 cannot be.
TEXT_ONLY = ("MYSQL_HOST", "MYSQL_HOSTS", "MYSQL_USER", "MYSQL_PASSWORD")
IDENTIFIER = re.compile(r"[A-Za-z0-9_]{1,64}")
# ASCII digits only: str.isdigit() also accepts "²", which int() then rejects.
PORT = re.compile(r"[0-9]{1,5}")
SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]+)?")
SWITCHES = dict.fromkeys(("1", "true", "yes", "on"), True) | dict.fromkeys(
    ("0", "false", "no", "off"), False
)
MAX_SIZE = 2**63 - 1  # largest LIMIT/OFFSET a MySQL BIGINT can carry
WHOLE_SECONDS = re.compile(r"[0-9]{1,6}")
# A user_id as the project writes it: a UUID in canonical lower-case text.
# Only these characters, which sort alike under MySQL's case-insensitive
# collation and SQLite's byte order, so a position means one place on both.
USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Config:
    """Where to connect."""

    engine: str = "auto"
    hosts: tuple[tuple[str, int], ...] = (("127.0.0.1", 3306),)
    user: str = "root"
    password: str = field(default="", repr=False)
    database: str = "ALX_prodev"
    sqlite_path: Path = ROOT / "ALX_prodev.sqlite3"
    load_method: str = "auto"
    sqlite_timeout: float = 60.0  # seconds to wait for another process's lock
    use_pure: bool = False  # the pure Python driver (public API) even where the C one loads
    # Seconds a MySQL read or write may wait on a server that has gone silent
    # (frozen, packets dropped); longer than a large LOAD DATA's final reply.
    io_timeout: int = 30
    seed_lock_wait: int = 600  # seconds a load waits for another load of the same table

    @property
    def address(self) -> str:
        """The servers tried, as ``host:port[,host:port...]``, for messages."""
        return ",".join(f"{host}:{port}" for host, port in self.hosts)


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The settings now in force: ``environ`` (default os.environ) over ``.env``."""
    environ = os.environ if environ is None else environ
    return _config_from(tuple((key, environ.get(key)) for key in KEYS))


@functools.cache
def _dotenv() -> dict[str, str | None]:
    path = ROOT / ".env"
    try:
        # interpolate=False: "${HOME}" in a password is those seven characters.
        return dotenv_values(path, interpolate=False, encoding="utf-8")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1  # never the bytes: a password
        raise SetupError(f"{path}: line {line} is not UTF-8 text: save the file as UTF-8") from None


@functools.cache
def _config_from(environment: tuple[tuple[str, str | None], ...]) -> Config:
    # Empty or missing counts as unset, in .env and in the environment alike;
    # a value in the environment wins over one in .env.
    values = {key: value for key, value in (*_dotenv().items(), *environment) if value}

    def setting(key: str, default: str) -> str:
        return values.get(key, default)

    for key in TEXT_ONLY:
        if key in values and not _is_utf8(values[key]):
            # Never the value itself: it may be a password.
            raise SetupError(f"{key} holds bytes that are not UTF-8 text: set it as UTF-8")
    engine = setting("DB_ENGINE", "auto").lower()
    if engine not in ENGINES:
        raise SetupError(f"DB_ENGINE={engine!r} is not valid: use one of {', '.join(ENGINES)}")
    load_method = setting("LOAD_METHOD", "auto").lower()
    if load_method not in LOAD_METHODS:
        raise SetupError(
            f"LOAD_METHOD={load_method!r} is not valid: use one of {', '.join(LOAD_METHODS)}"
        )
    database = setting("MYSQL_DATABASE", "ALX_prodev")
    if not IDENTIFIER.fullmatch(database):
        raise SetupError(
            f"MYSQL_DATABASE={database!r} is not valid: use 1 to 64 letters, digits or underscores"
        )
    if "MYSQL_HOSTS" in values:
        hosts = tuple(_parse_address(item) for item in values["MYSQL_HOSTS"].split(","))
    else:
        hosts = ((setting("MYSQL_HOST", "127.0.0.1"), _port(setting("MYSQL_PORT", "3306"))),)
    use_pure = setting("MYSQL_USE_PURE", "0").lower()
    if use_pure not in SWITCHES:
        raise SetupError(f"MYSQL_USE_PURE={use_pure!r} is not valid: use 1 or 0")
    sqlite_path = setting("SQLITE_PATH", str(ROOT / f"{database}.sqlite3"))
    if _in_memory(sqlite_path):
        raise SetupError(
            f"SQLITE_PATH={sqlite_path!r} is not valid: an in-memory database vanishes when "
            "the process ends; give the path of a file"
        )
    return Config(
        engine=engine,
        hosts=hosts,
        user=setting("MYSQL_USER", "root"),
        password=setting("MYSQL_PASSWORD", ""),
        database=database,
        sqlite_path=Path(sqlite_path),
        load_method=load_method,
        sqlite_timeout=_seconds("SQLITE_TIMEOUT", setting("SQLITE_TIMEOUT", "60")),
        use_pure=SWITCHES[use_pure],
        io_timeout=_whole_seconds("MYSQL_IO_TIMEOUT", setting("MYSQL_IO_TIMEOUT", "30"), 2),
        seed_lock_wait=_whole_seconds("SEED_LOCK_WAIT", setting("SEED_LOCK_WAIT", "600"), 0),
    )


def _in_memory(path: str) -> bool:
    """Whether SQLite would take ``path`` as an in-memory database, not a file.

    ``:memory:`` itself, and the URI forms: ``file::memory:``, or any
    ``file:`` URI with ``mode=memory``.
    """
    if path == ":memory:":
        return True
    if not path.startswith("file:"):
        return False
    uri = urllib.parse.urlsplit(path)
    return uri.path == ":memory:" or "memory" in urllib.parse.parse_qs(uri.query).get("mode", [])


def _whole_seconds(key: str, text: str, minimum: int) -> int:
    if not WHOLE_SECONDS.fullmatch(text) or int(text) < minimum:
        raise SetupError(
            f"{key}={text!r} is not valid: give a whole number of seconds, at least {minimum}"
        )
    return int(text)


def _seconds(key: str, text: str) -> float:
    if not SECONDS.fullmatch(text):
        raise SetupError(f"{key}={text!r} is not valid: give a number of seconds")
    return float(text)


def _is_utf8(text: str) -> bool:
    # os.environ carries undecodable bytes as surrogates, which no server can be sent.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_address(item: str) -> tuple[str, int]:
    host, _, port = item.strip().rpartition(":")
    if not host or not _valid_port(port):
        raise SetupError(
            f"MYSQL_HOSTS: {item.strip()!r} is not a valid host:port (port 1 to 65535)"
        )
    return host, int(port)


def _port(text: str) -> int:
    if not _valid_port(text):
        raise SetupError(f"MYSQL_PORT={text!r} is not valid: use a port number from 1 to 65535")
    return int(text)


def _valid_port(text: str) -> bool:
    return bool(PORT.fullmatch(text)) and 0 < int(text) < 65536


def check_size(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` if it is an int in [minimum, 2**63 - 1], else raise.

    The error is a ``TypeError`` or ``ValueError`` as Python code expects,
    and a ``SetupError`` too, so that uncaught it prints as one line.

    The lessons call it before any connection or SQL, so a bad size or
    offset never reaches a query.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadType(f"{name} must be an int, not {type(value).__name__}: {value!r}")
    if not minimum <= value <= MAX_SIZE:
        raise BadValue(f"{name} must be an integer from {minimum} to {MAX_SIZE}, got {value}")
    return value


def check_user_id(name: str, value: object, optional: bool = False) -> str | None:
    """Return ``value`` if it is a user_id (or, if ``optional``, None), else raise.

    A user_id is a UUID in canonical lower-case text (``USER_ID``), as
    seeding writes it. Like ``check_size`` the error is a ``TypeError`` or
    ``ValueError`` and a ``SetupError``, raised before any connection, so a
    value the table cannot hold never reaches a query: there engines differ
    (MySQL refuses a mix of collations, SQLite quietly finds nothing).
    """
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BadType(f"{name} must be a user_id string, not {type(value).__name__}: {value!r}")
    if not USER_ID.fullmatch(value):
        raise BadValue(
            f"{name} must be a user_id, a UUID in lower-case canonical form "
            f"(like '00000000-0000-0000-0000-000000000000'), got {shown(value)}"
        )
    return value

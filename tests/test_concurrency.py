"""Concurrency, leaks and security.

Two loads of one file at once load it exactly once. Streams opened by many
threads, or by one loop a thousand times, and stopped early give back every
server session and every file descriptor. Credentials live only in the
environment or a git-ignored ``.env``, never in source, output or error
messages; no value reaches SQL by string formatting.
"""

from __future__ import annotations

import ast
import gc
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ROOT,
    TEST_DB,
    admin_query,
    open_connections,
    require_mysql,
    server_settings,
    table_rows,
    wait_for,
)

import seed
from prodev.config import load_config
from tests.support.helpers import (
    CANARY,
    error_texts,
    file_rows,
    free_port,
    lesson_streams,
    open_fds,
    settled,
    write_users_csv,
)
from tests.support.relay import Relay

STREAMS = lesson_streams(batch_size=7, page_size=5)
THREADS = 32
LOOPS = 1_000
SECONDS_PER_STOPPED_STREAM = 0.2  # a loose bound: the point is that nothing accumulates
CHECK_EVERY = 25  # streams between two looks at the session count during the loop
SLACK = 10  # sessions still closing that a look during the loop tolerates


def warm_up() -> None:
    """Open and stop every kind of stream once, so that lazy imports are not counted as leaks."""
    for start in STREAMS.values():
        assert list(islice(start(), 1))


@pytest.fixture
def reap_leaks(engine: str) -> Iterator[None]:
    """After a leak test, end the sessions a failure left on the test database.

    The session teardown drops the test database, which would otherwise wait
    forever on the metadata locks of leaked streams: the failure would become
    a hang. Only sessions on this process's own test database are killed.
    """
    yield
    gc.collect()  # closes streams a failed assertion's traceback kept alive
    if engine != "mysql" or wait_for(lambda: open_connections() == 0, timeout=2):
        return
    for (session,) in admin_query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
        (TEST_DB,),
        database=None,
    ):
        admin_query("KILL %s", (session,), database=None)


class Baseline:
    """Server sessions (MySQL only) and this process's open fds, before a test's streams."""

    def __init__(self, engine: str) -> None:
        warm_up()
        self.on_mysql = engine == "mysql"
        self.sessions = settled(open_connections) if self.on_mysql else 0
        self.fds = settled(open_fds)

    def assert_not_growing(self, streams: int) -> None:
        if self.on_mysql:
            assert wait_for(lambda: open_connections() <= self.sessions + SLACK, 2), (
                f"{open_connections() - self.sessions} sessions more after {streams} streams"
            )

    def assert_restored(self, timeout: float = 5.0) -> None:
        if self.on_mysql:
            assert wait_for(lambda: open_connections() == self.sessions, timeout), (
                f"{open_connections()} sessions on the test database, {self.sessions} before"
            )
        assert wait_for(lambda: open_fds() == self.fds, timeout), (
            f"{open_fds()} open fds, {self.fds} before"
        )


# ------------------------------------------------------- two loads at once


WAITED = "seed: another load of this table is running; waiting for it"
SUMMARY = re.compile(r"seed: users\.csv: 100000 rows read, (\d+) inserted, (\d+) already present")


def drop_table() -> None:
    with seed.prodev_connection() as connection:
        connection.cursor().execute("DROP TABLE IF EXISTS user_data")
        connection.commit()


@pytest.mark.parametrize("table", ["empty", "missing"])
def test_two_loads_of_one_file_at_once_load_it_exactly_once(
    table: str,
    empty_table: dict[str, str],
    tmp_path: Path,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    path = write_users_csv(tmp_path / "users.csv", 100_000)
    if table == "missing":
        drop_table()  # both runs race to create it too

    loads = [spawn("seed.py", str(path), env=empty_table) for _ in range(2)]
    outputs = [load.communicate(timeout=300) for load in loads]

    print("\nstderr of the two loads:", [err.strip() for _, err in outputs])
    inserted = 0
    for run, (out, err) in zip(loads, outputs, strict=True):
        assert run.returncode == 0, err
        assert err.strip() in ("", WAITED), err
        summary = SUMMARY.search(out)
        assert summary, out
        inserted += int(summary[1])
    assert inserted == 100_000, "each user was inserted by exactly one of the loads"
    assert [(*row[:3], Decimal(row[3])) for row in table_rows()] == file_rows(path)


# ------------------------------------------------------------ early stops


def open_and_stop(start: Callable[[], Iterator[Any]], opened: threading.Barrier,
                  release: threading.Barrier) -> None:
    """Take a few items, wait until every thread holds its stream, then drop it."""
    items = start()
    try:
        assert len(list(islice(items, 3))) == 3
        opened.wait()
        release.wait()
    finally:
        del items  # the generator is closed here, as when a driver's loop ends


def test_32_threads_stopping_early_give_back_every_session_and_fd(
    engine: str, seeded: dict[str, str], reap_leaks: None
) -> None:
    baseline = Baseline(engine)
    kinds = list(STREAMS.values())
    # The test's thread is a party too, to look while every stream is open.
    opened = threading.Barrier(THREADS + 1, timeout=60)
    release = threading.Barrier(THREADS + 1, timeout=60)
    errors: list[str] = []

    def work(start: Callable[[], Iterator[Any]]) -> None:
        try:
            open_and_stop(start, opened, release)
        except BaseException as error:  # kept as text: a traceback would keep the stream alive
            errors.append(repr(error))
            opened.abort()  # do not keep the others waiting for this thread
            release.abort()

    threads = [
        threading.Thread(target=work, args=(kinds[n % len(kinds)],), daemon=True)
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    during = None
    try:
        opened.wait()
        during = open_connections() if baseline.on_mysql else None
        release.wait()
    except threading.BrokenBarrierError:
        pass  # a worker failed: its error is asserted below
    except BaseException:
        release.abort()  # free the workers before joining them
        raise
    finally:
        for thread in threads:
            thread.join(30)

    assert not [thread for thread in threads if thread.is_alive()], "a streaming thread hung"
    assert not errors, errors
    if baseline.on_mysql:
        assert during == baseline.sessions + THREADS, "each open stream holds one session"
    baseline.assert_restored()


def test_a_thousand_early_stopped_streams_leave_nothing_and_take_bounded_time(
    engine: str,
    seeded: dict[str, str],
    reap_leaks: None,
    record_property: Callable[[str, object], None],
) -> None:
    baseline = Baseline(engine)

    elapsed = 0.0
    for done in range(1, LOOPS + 1):
        started = time.perf_counter()
        assert len(list(islice(STREAMS["stream_users"](), 3))) == 3
        elapsed += time.perf_counter() - started
        if done % CHECK_EVERY == 0:
            # Fail early rather than leak up to the shared server's max_connections.
            baseline.assert_not_growing(done)
    per_stream = elapsed / LOOPS

    record_property("seconds_per_stopped_stream", per_stream)
    print(f"\n{engine}: {per_stream * 1000:.2f} ms per stream opened, read 3 rows, stopped")
    assert per_stream < SECONDS_PER_STOPPED_STREAM
    baseline.assert_restored(timeout=10)


# ------------------------------------------------------------------ security


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )


def test_dotenv_is_git_ignored_and_not_tracked() -> None:
    assert git("check-ignore", "-q", ".env").returncode == 0
    assert git("ls-files", "--", ".env").stdout == ""


def tracked_files(*patterns: str) -> list[Path]:
    """Tracked files matching ``patterns``, outside tests/ (tests use fake passwords on purpose)."""
    listing = git("ls-files", "--", *patterns).stdout.split()
    return [ROOT / name for name in listing if not name.startswith("tests/")]


SECRET_NAME = re.compile(r"pass(word|wd)?|pwd|secret|token", re.IGNORECASE)


def literal_secrets_in_python(path: Path) -> list[str]:
    """Non-empty string literals bound to a password-like name: assignment, keyword or dict key."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        pairs: list[tuple[Any, Any]] = []
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.keyword):
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = list(zip(node.keys, node.values, strict=True))
        for key, value in pairs:
            name = (
                key if isinstance(key, str)
                else getattr(key, "id", None) or getattr(key, "attr", None)
                or (key.value if isinstance(key, ast.Constant) else None)
            )
            if (isinstance(name, str) and SECRET_NAME.search(name)
                    and isinstance(value, ast.Constant) and isinstance(value.value, str)
                    and value.value):
                found.append(f"{path.name}:{value.lineno}: {name} = {value.value!r}")
    return found


SHELL_SECRETS = [
    re.compile(r"\b\w*(PASSWORD|PASSWD|PWD)\w*\s*=\s*['\"]?(?![$'\"\s])\S", re.IGNORECASE),
    re.compile(r"IDENTIFIED\s+BY\s+'[^']+'|PASSWORD\(\s*'[^']+'\s*\)", re.IGNORECASE),
    re.compile(r"\b(mysql|mariadb)\b.*\s(-p|--password=)[^\s'\"]", re.IGNORECASE),
]


def literal_secrets_in_text(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(lines, start=1)
        if not line.lstrip().startswith("#") and any(p.search(line) for p in SHELL_SECRETS)
    ]


def test_no_source_file_holds_a_literal_password() -> None:
    python = tracked_files("*.py")
    other = [
        path for path in tracked_files("scripts/*", ".ci/*", ".env.example", "*.sh", "*.toml")
        if path.suffix != ".py"
    ]
    assert len(python) >= 6 and other, "the scan found the project's files"

    found = [hit for path in python for hit in literal_secrets_in_python(path)]
    found += [hit for path in other for hit in literal_secrets_in_text(path)]

    assert found == []


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".py", 'password = "hunter2"\n'),
        (".py", 'connect(user="app", passwd="hunter2")\n'),
        (".py", 'SETTINGS = {"MYSQL_PASSWORD": "hunter2"}\n'),
        (".sh", "export MYSQL_PWD=hunter2\n"),
        (".sh", "mariadb -uapp -phunter2 -e 'SELECT 1'\n"),
        (".sh", "mariadb -e \"CREATE USER app IDENTIFIED BY 'hunter2'\"\n"),
    ],
)
def test_the_password_scan_finds_a_literal_password(suffix: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"sample{suffix}"
    path.write_text(text, encoding="utf-8")
    scan = literal_secrets_in_python if suffix == ".py" else literal_secrets_in_text

    assert len(scan(path)) == 1


SQL_FILES = sorted(
    path.relative_to(ROOT)
    for pattern in ("seed.py", "[0-9]-*.py", "prodev/*.py", "prodev/backends/*.py")
    for path in ROOT.glob(pattern)
)
# (file, function): why formatting is acceptable there.
FORMATTED_SQL_ALLOWED = {
    ("mysql.py", "create_database"): "the database name, validated as [A-Za-z0-9_]{1,64}",
    ("bulkload.py", "_insert_batches"): "INSERT IGNORE / INSERT OR IGNORE, a backend's literal",
    ("follow.py", "position_pending"): "a list of %s placeholders sized to the batch",
    ("follow.py", "remove"): "the follower's own trigger and table names, module literals",
}


def is_formatted(node: ast.AST) -> bool:
    """An f-string with a placeholder, a '%' on a string, or a .format() call."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr, ast.Name))
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format")


def formatted_sql(path: Path) -> set[tuple[str, str]]:
    """(file, function) of each execute()/executemany() whose statement is formatted.

    A statement held in a local variable counts when any assignment to that
    name in the function is formatted.
    """
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assignments = [node for node in ast.walk(function) if isinstance(node, ast.Assign)]
        formatted_names = {
            target.id
            for node in assignments if is_formatted(node.value)
            for target in node.targets if isinstance(target, ast.Name)
        }
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("execute", "executemany") and call.args):
                continue
            statement = call.args[0]
            if is_formatted(statement) or (
                isinstance(statement, ast.Name) and statement.id in formatted_names
            ):
                found.add((path.name, function.name))
    return found


def module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level NAME = value, and NAME, OTHER = value, value, bindings,
    and names imported from the project's own modules (bound there)."""
    constants: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prodev."):
            source = ROOT / (node.module.replace(".", "/") + ".py")
            if source.is_file():  # a package's __init__ re-exports no literal
                imported = module_constants(ast.parse(source.read_text(encoding="utf-8")))
                constants.update(
                    (alias.asname or alias.name, imported[alias.name])
                    for alias in node.names
                    if alias.name in imported
                )
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                constants[target.id] = node.value
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                constants.update(
                    (name.id, value)
                    for name, value in zip(target.elts, node.value.elts, strict=True)
                    if isinstance(name, ast.Name)
                )
    return constants


def test_no_value_reaches_sql_by_string_formatting() -> None:
    found = set().union(*(formatted_sql(ROOT / name) for name in SQL_FILES))

    print("\nformatted SQL:", {place: FORMATTED_SQL_ALLOWED.get(place, "?") for place in found})
    assert found <= set(FORMATTED_SQL_ALLOWED), found - set(FORMATTED_SQL_ALLOWED)
    assert ("mysql.py", "create_database") in found, "the scan sees the one known case"


def test_sql_templates_interpolate_only_literal_constants() -> None:
    """Module-level SQL built with f-strings (the CREATE TABLE and LOAD DATA texts) uses
    only names bound to literals, so no runtime value can reach it."""
    templates = 0
    for name in SQL_FILES:
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        constants = module_constants(tree)
        for constant, value in constants.items():
            if not (constant.isupper() and isinstance(value, ast.JoinedStr)):
                continue
            templates += 1
            for part in value.values:
                if isinstance(part, ast.FormattedValue):
                    inner = part.value
                    assert isinstance(inner, ast.Name), f"{name}: {constant}: {ast.unparse(inner)}"
                    assert isinstance(constants.get(inner.id), ast.Constant), (
                        f"{name}: {constant} interpolates {inner.id}, which is not a literal"
                    )
    assert templates >= 2, "the scan sees the two CREATE TABLE templates"


def test_the_configuration_never_shows_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSQL_PASSWORD", CANARY)
    config = load_config()

    assert config.password == CANARY
    assert CANARY not in repr(config)
    assert CANARY not in str(config)


CONNECTS: dict[str, Callable[[], object]] = {
    "check_server": seed.check_server,
    "prodev_connection": lambda: seed.prodev_connection().__enter__(),
    "stream_users": lambda: next(STREAMS["stream_users"]()),
    "stream_user_ages": lambda: next(STREAMS["stream_user_ages"]()),
}


@pytest.fixture(params=["no server", "access denied", "relay cut"])
def failing_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """seed configured with the canary password for a connection that fails; yields the kind."""
    settings = server_settings()
    monkeypatch.setenv("DB_ENGINE", "mysql")
    monkeypatch.setenv("MYSQL_HOSTS", "")
    monkeypatch.setenv("MYSQL_HOST", "127.0.0.1")
    monkeypatch.setenv("MYSQL_USER", "faults_no_such_user")
    monkeypatch.setenv("MYSQL_PASSWORD", CANARY)
    monkeypatch.setenv("MYSQL_DATABASE", "faults_never_created")
    if request.param == "no server":
        monkeypatch.setenv("MYSQL_PORT", str(free_port()))
        yield request.param
        return
    if request.param == "access denied":
        require_mysql(request)
        monkeypatch.setenv("MYSQL_HOST", settings["MYSQL_HOST"])
        monkeypatch.setenv("MYSQL_PORT", settings["MYSQL_PORT"])
        yield request.param
        return
    with Relay(settings["MYSQL_HOST"], int(settings["MYSQL_PORT"])) as relay:
        relay.cut()  # every connection is accepted, then dropped during the handshake
        monkeypatch.setenv("MYSQL_PORT", str(relay.port))
        yield request.param


@pytest.mark.parametrize("connect", CONNECTS)
def test_a_failed_connection_never_shows_the_password(
    connect: str, failing_server: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(seed.SetupError) as failure:
        CONNECTS[connect]()

    assert CANARY not in error_texts(failure.value)
    assert len(str(failure.value).splitlines()) == 1
    printed = capfd.readouterr()
    assert CANARY not in printed.out + printed.err


@pytest.mark.parametrize("connect", [seed.connect_db, seed.connect_to_prodev])
def test_the_contract_helpers_print_a_failed_connection_without_the_password(
    connect: Callable[[], object], failing_server: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert connect() is None
    printed = capfd.readouterr()
    assert printed.err.startswith("error: ")
    assert len(printed.err.splitlines()) == 1
    assert CANARY not in printed.out + printed.err

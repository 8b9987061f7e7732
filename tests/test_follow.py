"""Following user_data live: 6-follow_users.py, prodev.follow, prodev.produce.

Each property docs/live-data.md claims is a test, on both engines unless the
property cannot arise there: exactly once in commit order with writers of
every kind (the project's, the database's own client, concurrent ones that
hold their transactions open for random times and sometimes roll back),
following from now, resuming from a position, reconnecting after the server
went away, quiet when idle, a clean early stop, and user_data unchanged for
the curriculum.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import mysql.connector
import pytest
from conftest import (
    ROOT,
    TEST_DB,
    load,
    open_connections,
    run_script,
    server_settings,
    table_rows,
    wait_for,
)

import seed
from prodev import follow, produce, schema
from prodev.produce import INSERT
from tests.support.helpers import (
    Writers,
    check_exactly_once_in_commit_order,
    emails,
    follow_until,
    one_line_error,
    write_users_csv,
)
from tests.support.relay import Relay

lesson = load("6-follow_users")

SHARED_PORT = server_settings()["MYSQL_PORT"]  # read before any test points seed elsewhere
IDLE_SECONDS = 10
IDLE_CPU_LIMIT = 1.0  # CPU seconds in IDLE_SECONDS; a busy loop would spend about 10


def insert(addresses: list[str]) -> list[str]:
    """Insert users with these e-mails in one committed transaction; return the e-mails."""
    with seed.prodev_connection() as connection:
        users = [(seed.user_id_for(email), "Test User", email, 30) for email in addresses]
        connection.cursor().executemany(INSERT, users)
        connection.commit()
    return addresses


@pytest.fixture
def following(seeded: dict[str, str]) -> dict[str, str]:
    """The sample users in user_data, and the log set up; returns db_env."""
    follow.now()
    return seeded


# ------------------------------------------------------------------ the lesson


def test_follow_users_is_a_generator_function_yielding_user_dicts(
    following: dict[str, str],
) -> None:
    import inspect

    assert inspect.isgeneratorfunction(lesson.follow_users)
    assert inspect.isgeneratorfunction(lesson.follow_positions)
    start = follow.now()
    insert(emails("shape", 2))
    users = list(islice(lesson.follow_users(start), 2))
    assert [list(user) for user in users] == [["user_id", "name", "email", "age"]] * 2
    assert [user["email"] for user in users] == emails("shape", 2)
    assert users[0]["user_id"] == seed.user_id_for("shape.0@example.com")


@pytest.mark.parametrize("after", [-1, "7", 1.5, True])
def test_a_bad_position_raises_at_the_first_next_before_any_connection(
    following: dict[str, str], after: object
) -> None:
    users = lesson.follow_users(after)
    before = open_connections() if following["DB_ENGINE"] == "mysql" else 0
    with pytest.raises((TypeError, ValueError), match="after"):
        next(users)
    if following["DB_ENGINE"] == "mysql":
        assert open_connections() == before


def test_without_a_position_it_follows_from_now(following: dict[str, str]) -> None:
    """Nothing already there comes; what comes is a run of new users, none skipped."""
    old = {row[2] for row in table_rows()}
    new = emails("fresh", 200)
    stop = threading.Event()

    def keep_inserting() -> None:
        for email in new:
            if stop.is_set():
                return
            insert([email])
            time.sleep(0.02)

    writer = threading.Thread(target=keep_inserting)
    writer.start()
    try:
        got = [user["email"] for user in islice(lesson.follow_users(), 5)]
    finally:
        stop.set()
        writer.join()
    assert not set(got) & old
    first = new.index(got[0])
    assert got == new[first : first + 5]


def test_a_position_resumes_right_after_its_user(following: dict[str, str]) -> None:
    start = follow.now()
    first = insert(emails("before", 5))
    taken = list(islice(lesson.follow_positions(start), 3))
    assert [user["email"] for _, user in taken] == first[:3]
    later = insert(emails("after", 4))  # written while nobody follows

    resumed = [user["email"] for user in islice(lesson.follow_users(taken[-1][0]), 6)]

    assert resumed == first[3:] + later


# ------------------------------------------------- exactly once, commit order


def test_concurrent_writers_holding_and_rolling_back_come_exactly_once_in_commit_order(
    following: dict[str, str],
) -> None:
    start = follow.now()
    result: list[list[str]] = []
    follower = threading.Thread(
        target=lambda: result.append(follow_until(start, "end.0@example.com"))
    )
    follower.start()
    writers = Writers()
    writers.run(writers=6, per_writer=8, hold=0.03, rollback_share=0.25)
    insert(emails("end", 1))  # committed after every writer: the last to come
    follower.join(90)

    assert not follower.is_alive()
    got = result[0]
    assert got[-1] == "end.0@example.com"
    check_exactly_once_in_commit_order(got[:-1], writers.transactions)
    assert sum(not done.committed for done in writers.transactions) > 0, "no rollback was tried"


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_smaller_id_committed_late_is_not_skipped_and_a_rollback_never_comes(
    following: dict[str, str],
) -> None:
    """The classic trap of polling ``id > last``, set up step by step.

    (SQLite lets one writer at a time hold the database: there, no
    transaction can commit around another one.)
    """
    start = follow.now()
    users = lesson.follow_users(start)
    with seed.prodev_connection() as slow, seed.prodev_connection() as doomed:
        slow.cursor().execute(INSERT, (seed.user_id_for("slow@x.org"), "S", "slow@x.org", 40))
        doomed.cursor().execute(INSERT, (seed.user_id_for("doomed@x.org"), "D", "doomed@x.org", 40))
        insert(["fast@x.org"])  # took a larger seq than slow's, commits first
        assert next(users)["email"] == "fast@x.org"
        doomed.rollback()
        slow.commit()
        assert next(users)["email"] == "slow@x.org"
    insert(["last@x.org"])
    assert next(users)["email"] == "last@x.org"
    users.close()


def foreign_insert(db_env: dict[str, str], sql: str) -> None:
    """Run ``sql`` with the engine's own client, not through this project."""
    if db_env["DB_ENGINE"] == "mysql":
        settings = server_settings()
        command = [
            "mariadb",
            "--no-defaults",
            "-h",
            settings["MYSQL_HOST"],
            "-P",
            settings["MYSQL_PORT"],
            "-u",
            settings["MYSQL_USER"],
            db_env["MYSQL_DATABASE"],
            "-e",
            sql,
        ]
    else:
        script = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).executescript(sys.argv[2])"
        command = [sys.executable, "-c", script, db_env["SQLITE_PATH"], sql]
    subprocess.run(command, check=True, capture_output=True, env=db_env)


def test_rows_written_by_the_databases_own_client_come_too(following: dict[str, str]) -> None:
    start = follow.now()
    values = ", ".join(
        f"('{seed.user_id_for(email)}', 'Client', '{email}', 50)" for email in emails("cli", 3)
    )
    foreign_insert(following, f"BEGIN; INSERT INTO user_data VALUES {values}; ROLLBACK;")
    foreign_insert(following, f"INSERT INTO user_data VALUES {values};")
    got = [user["email"] for user in islice(lesson.follow_users(start), 3)]
    assert got == emails("cli", 3)


def test_a_seed_while_following_comes_user_by_user(empty_table: dict[str, str]) -> None:
    """seed.py's bulk load (LOAD DATA on MySQL, batches on SQLite) fires the trigger too."""
    start = follow.now()
    result = run_script("seed.py", env=empty_table)
    assert result.returncode == 0, result.stderr
    got = [user["user_id"] for user in islice(lesson.follow_users(start), 1000)]
    assert sorted(got) == sorted(row[0] for row in table_rows())
    assert len(set(got)) == 1000


def test_select_star_still_returns_the_four_columns(following: dict[str, str]) -> None:
    with seed.prodev_connection() as connection:
        assert follow.is_set_up(connection)
        cursor = connection.cursor()
        cursor.execute("SELECT * FROM user_data LIMIT 1")
        cursor.fetchall()
        assert cursor.column_names == ("user_id", "name", "email", "age")


# ------------------------------------------------------ stopping, idling, faults


def test_stopping_early_closes_the_connection_and_prints_nothing(
    following: dict[str, str],
) -> None:
    start = follow.now()
    insert(emails("stop", 5))
    code = (
        "import importlib, itertools, sys\n"
        "users = importlib.import_module('6-follow_users').follow_users(int(sys.argv[1]))\n"
        "for user in itertools.islice(users, 3): print(user['email'])\n"
    )
    result = run_script("-c", code, str(start), env=following)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == emails("stop", 3)
    if following["DB_ENGINE"] == "mysql":
        before = open_connections()
        users = lesson.follow_users(start)
        next(users)
        assert open_connections() == before + 1
        users.close()
        assert wait_for(lambda: open_connections() == before)


def test_an_idle_follower_is_quiet(
    following: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Its CPU time over IDLE_SECONDS with nothing arriving (nothing else runs meanwhile)."""
    start = follow.now()
    got: list[str] = []
    follower = threading.Thread(target=follow_until, args=(start, "wake.0@example.com", 60, got))
    follower.start()
    time.sleep(1)  # connected, set up, waiting
    before = time.process_time()
    time.sleep(IDLE_SECONDS)
    spent = time.process_time() - before
    insert(emails("wake", 1))
    follower.join(10)
    assert got == ["wake.0@example.com"]
    with capsys.disabled():
        print(f"\n[follow] idle {following['DB_ENGINE']}: {spent:.2f} CPU s in {IDLE_SECONDS} s")
    assert spent < IDLE_CPU_LIMIT


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)
def test_a_follower_whose_server_goes_away_reconnects_and_continues(
    following: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = follow.now()
    settings = server_settings()
    with Relay(settings["MYSQL_HOST"], int(settings["MYSQL_PORT"])) as relay:
        monkeypatch.setenv("MYSQL_PORT", str(relay.port))  # the follower goes through the relay
        got: list[str] = []
        follower = threading.Thread(
            target=follow_until, args=(start, "c.2@example.com", 60, got), daemon=True
        )
        follower.start()
        direct_insert(emails("a", 3))  # writers do not go through the relay
        assert wait_for(lambda: len(got) == 3, 10)
        relay.cut()  # the server "goes away" for the follower
        direct_insert(emails("b", 3))
        time.sleep(1)  # the follower fails to reconnect for a while
        relay.restore()
        direct_insert(emails("c", 3))
        follower.join(30)
        assert not follower.is_alive()
    assert got == emails("a", 3) + emails("b", 3) + emails("c", 3)


def direct_insert(addresses: list[str]) -> None:
    """Insert users in one transaction on the shared server, not through the relay."""
    rows = ", ".join(["(%s, 'Direct', %s, 33)"] * len(addresses))
    params = tuple(value for email in addresses for value in (seed.user_id_for(email), email))
    settings = server_settings()
    connection = mysql.connector.connect(
        host=settings["MYSQL_HOST"],
        port=int(SHARED_PORT),
        user=settings["MYSQL_USER"],
        password=settings["MYSQL_PASSWORD"],
        database=TEST_DB,
    )
    try:
        connection.cursor().execute(f"INSERT INTO user_data VALUES {rows}", params)
        connection.commit()
    finally:
        connection.close()


def test_the_producer_inserts_at_the_rate_asked(following: dict[str, str]) -> None:
    before = len(table_rows())
    result = run_script("-m", "prodev.produce", "--rate", "40", "--for", "1", env=following)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("produce: 40 users in ")
    rows = table_rows()
    assert len(rows) == before + 40
    live = [row for row in rows if row[1].startswith("Live User")]
    assert all(user_id == seed.user_id_for(email) for user_id, _, email, _ in live)


def test_removing_the_log_leaves_user_data_as_seeding_made_it(following: dict[str, str]) -> None:
    result = run_script("-m", "prodev.follow", "remove", env=following)
    assert (result.returncode, result.stderr) == (0, "")
    with seed.prodev_connection() as connection:
        assert not follow.is_set_up(connection)
    insert(emails("unlogged", 1))  # writers no longer need the log
    assert "unlogged.0@example.com" in {row[2] for row in table_rows()}


# ------------------------------------------- positions, deletes, a log that goes
# The rules, as prodev/follow.py and docs/live-data.md state them.
RULES = (
    "A position belongs to the log that handed it out",
    "a position from an earlier log is refused in one line",
    "Each committed insert comes once, at its own position",
    "a user deleted before the follower reads its entry does not come",
    "a user deleted and inserted again comes again",
)


def execute(sql: str) -> None:
    """Run one statement on the test database and commit."""
    with seed.prodev_connection() as connection:
        connection.cursor().execute(sql)
        connection.commit()


def delete(addresses: list[str]) -> None:
    """Delete the users with these e-mails in one committed transaction."""
    with seed.prodev_connection() as connection:
        ids = [(seed.user_id_for(email),) for email in addresses]
        connection.cursor().executemany(produce.DELETE, ids)
        connection.commit()


class Follower(threading.Thread):
    """follow_until in a thread, keeping what came and the error that ended it."""

    def __init__(self, position: int) -> None:
        super().__init__(daemon=True)
        self.position, self.got = position, []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            follow_until(self.position, "never.0@example.com", 60, self.got)
        except BaseException as error:  # kept for the test to read
            self.error = error

    def following(self) -> Follower:
        """Started, and seen yielding a user: it is in its loop."""
        self.start()
        insert(emails("seen", 1))
        assert wait_for(lambda: self.got == emails("seen", 1), 10), self.error
        return self

    def ended_in_one_line(self) -> str:
        """It ended (not quiet) with a one-line SetupError; the line."""
        self.join(15)
        assert not self.is_alive(), "the follower went quiet"
        assert isinstance(self.error, seed.SetupError), repr(self.error)
        assert "\n" not in str(self.error)
        return str(self.error)


def test_the_rules_for_positions_and_deletes_are_stated_in_the_module_and_the_docs() -> None:
    for text in (follow.__doc__, (ROOT / "docs" / "live-data.md").read_text(encoding="utf-8")):
        flat = " ".join(text.split())
        assert [rule for rule in RULES if rule not in flat] == []


def test_the_follower_and_the_backends_name_the_same_log() -> None:
    """follow.py spells the names out for its SQL; the backends' DDL takes schema's."""
    assert (follow.LOG, follow.HEAD, follow.TRIGGER) == (
        schema.LOG_TABLE,
        schema.LOG_HEAD,
        schema.LOG_TRIGGER,
    )


def test_a_position_from_before_follow_remove_is_refused_in_one_line(
    following: dict[str, str],
) -> None:
    start = follow.now()
    insert(emails("old", 3))
    old = [position for position, _ in islice(lesson.follow_positions(start), 3)][-1]
    result = run_script("-m", "prodev.follow", "remove", env=following)
    assert result.returncode == 0, result.stderr
    follow.now()  # the next follower sets the log up again
    insert(emails("new", 40))

    with pytest.raises(seed.SetupError, match=f"position {old} is from an earlier log") as refused:
        next(lesson.follow_users(old))
    assert "\n" not in str(refused.value)


def test_a_position_from_before_user_data_was_dropped_and_seeded_again_is_refused(
    following: dict[str, str],
) -> None:
    """DROP TABLE user_data drops its trigger too: what was inserted meanwhile was not logged."""
    start = follow.now()
    insert(emails("old", 2))
    old = next(lesson.follow_positions(start))[0]
    execute("DROP TABLE user_data")
    result = run_script("seed.py", env=following)
    assert result.returncode == 0, result.stderr
    follow.now()
    insert(emails("new", 5))

    with pytest.raises(seed.SetupError, match=f"position {old} is from an earlier log"):
        next(lesson.follow_users(old))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("DROP TRIGGER", "trigger"),
        ("follow remove", "python3 -m prodev.follow remove"),
        ("DROP TABLE user_data, seed.py", "user_data"),
    ],
)
def test_a_follower_whose_log_goes_away_while_it_waits_says_so_in_one_line(
    following: dict[str, str], how: str, said: str
) -> None:
    follower = Follower(follow.now()).following()
    if how == "DROP TRIGGER":
        execute(f"DROP TRIGGER {follow.TRIGGER}")
    elif how == "follow remove":
        assert run_script("-m", "prodev.follow", "remove", env=following).returncode == 0
    else:
        execute("DROP TABLE user_data")
        assert run_script("seed.py", env=following).returncode == 0

    assert said in follower.ended_in_one_line()


def test_a_column_renamed_while_following_ends_the_follower_in_one_line(
    following: dict[str, str],
) -> None:
    follower = Follower(follow.now()).following()
    execute("ALTER TABLE user_data RENAME COLUMN email TO mail")
    assert "email" in follower.ended_in_one_line()


def test_with_its_log_table_dropped_seed_advises_follow_remove_and_a_new_follower_mends_it(
    following: dict[str, str], tmp_path: Path
) -> None:
    """The trigger is left writing to a table that is gone: every insert fails."""
    execute(f"DROP TABLE {follow.LOG}")
    more = write_users_csv(tmp_path / "more.csv", 3)
    refused = one_line_error(run_script("seed.py", str(more), env=following))
    assert "python3 -m prodev.follow remove" in refused
    assert "DROP TABLE" not in refused

    start = follow.now()  # a new follower: no traceback, and the log is whole again
    result = run_script("seed.py", str(more), env=following)
    assert result.returncode == 0, result.stderr
    got = [user["email"] for user in islice(lesson.follow_users(start), 3)]
    assert sorted(got) == [f"test.user.{n}@example.org" for n in range(3)]


def test_a_log_left_in_an_earlier_layout_is_begun_again(following: dict[str, str]) -> None:
    """A head without ``first`` (positions that carried no log) cannot serve: a new log begins."""
    with seed.prodev_connection() as connection:
        follow.remove(connection)
    execute(f"CREATE TABLE {follow.HEAD} (id INTEGER PRIMARY KEY, last BIGINT NOT NULL)")
    start = follow.now()
    insert(emails("layout", 2))
    assert [user["email"] for user in islice(lesson.follow_users(start), 2)] == emails("layout", 2)


def test_a_user_comes_once_for_each_insert_whose_row_is_there_when_read(
    following: dict[str, str],
) -> None:
    """Deleted and inserted again before the follower reads: once. After: again."""
    start = follow.now()
    insert(["across@x.org"])
    delete(["across@x.org"])
    insert(["across@x.org"])  # the same e-mail, so the same user_id
    insert(["inside@x.org"])
    with seed.prodev_connection() as connection:  # delete and insert again, one transaction
        cursor = connection.cursor()
        cursor.execute(produce.DELETE, (seed.user_id_for("inside@x.org"),))
        cursor.execute(INSERT, (seed.user_id_for("inside@x.org"), "Again", "inside@x.org", 31))
        connection.commit()
    insert(["gone@x.org"])
    delete(["gone@x.org"])
    insert(["end@x.org"])
    users = lesson.follow_users(start)
    got = [user["email"] for user in islice(users, 3)]
    assert got == ["across@x.org", "inside@x.org", "end@x.org"]

    delete(["end@x.org"])
    insert(["end@x.org"])  # after the follower read it: it comes again
    assert next(users)["email"] == "end@x.org"
    users.close()


# ------------------------------------------------ the tour, pipes, bad options


def test_the_tour_shows_a_user_that_someone_else_inserts_during_its_live_demo(
    seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The follower yields every writer's users, not only the demo producer's."""
    import main

    real = produce.in_background

    @contextmanager
    def with_a_stranger(rate: float, seconds: float) -> Iterator[produce.Commits]:
        insert(["stranger@example.com"])  # another writer, committed during the demo
        with real(rate, seconds) as commits:
            yield commits

    monkeypatch.setattr(produce, "in_background", with_a_stranger)
    main.live_tour()

    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert len(shown) == 8
    assert re.fullmatch(r"  position \d+: Test User, inserted by another writer", shown[0])
    assert all(line.endswith(" ms after its commit") for line in shown[1:]), shown


@pytest.mark.parametrize(
    "command",
    [
        "6-follow_users.py | head -n 2",
        "-m prodev.produce --timestamps --rate 50 --for 2 | head -n 1",
    ],
)
def test_a_reader_that_goes_away_ends_the_script_quietly(
    seeded: dict[str, str], command: str
) -> None:
    """As the curriculum's drivers do for a closed pipe: no traceback, exit 0."""
    script, pipe = command.split(" | ")
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {shlex.quote(sys.executable)} {script} | {pipe}"],
        cwd=ROOT,
        env=seeded,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert len(result.stdout.splitlines()) == int(pipe.split()[-1])


@pytest.mark.parametrize(
    "option", [["--rate", "nan"], ["--for", "inf"], ["--rate", "inf"], ["--for", "nan"]]
)
def test_the_producer_refuses_a_rate_or_time_that_is_not_a_finite_positive_number(
    seeded: dict[str, str], option: list[str]
) -> None:
    before = table_rows()
    result = run_script("-m", "prodev.produce", *option, env=seeded)
    assert option[0] in one_line_error(result)
    assert table_rows() == before

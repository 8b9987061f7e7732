"""Plain helpers that several test modules share (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import csv
import importlib
import os
import random
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import seed
from prodev.produce import INSERT

# A recognisable password: every output and error message is searched for it.
CANARY = "Canary-Pw-7f3a9c"
SAMPLE_CSV = Path(__file__).resolve().parents[2] / "user_data.csv"


def free_port() -> int:
    """A loopback port nothing listens on (bound a moment ago, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line of a run that must fail cleanly (no traceback)."""
    output = (result.stdout + result.stderr)[-3000:]  # enough to see why, even for huge output
    assert result.returncode not in (0, None), output
    assert "Traceback" not in result.stdout + result.stderr, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


def open_fds() -> int:
    """File descriptors this process holds open."""
    return len(os.listdir("/proc/self/fd"))


def settled(count: Callable[[], int]) -> int:
    """``count()`` once what was closing a moment ago has gone (waits at most 5 s)."""
    previous = count()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = count()
        if current == previous:
            return current
        previous = current
    return previous


def error_texts(error: BaseException) -> str:
    """Everything a traceback of ``error`` can show, chained exceptions included."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), *map(repr, current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def write_users_csv(path: Path, rows: int, *, sample_first: bool = False) -> Path:
    """``rows`` users, every field quoted as in the sample file.

    With ``sample_first`` the sample's 1,000 users come first, then generated ones.
    """
    users: list[list[str]] = []
    if sample_first:
        with open(SAMPLE_CSV, newline="", encoding="utf-8") as sample:
            users = list(csv.reader(sample))[1:]
    users += (
        [f"Test User {n}", f"test.user.{n}@example.org", str(18 + n % 80)]
        for n in range(rows - len(users))
    )
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(["name", "email", "age"])
        writer.writerows(users)
    return path


def file_rows(path: Path) -> list[tuple]:
    """The rows a complete load of ``path`` leaves in user_data, in user_id order."""
    with open(path, newline="", encoding="utf-8") as handle:
        return sorted(
            (seed.user_id_for(row["email"]), row["name"], row["email"], Decimal(row["age"]))
            for row in csv.DictReader(handle)
        )


def lesson_streams(batch_size: int, page_size: int) -> dict[str, Callable[[], Iterator[Any]]]:
    """Each lesson's generator by name, as a function that starts a fresh stream."""
    stream, batches, pages, ages, keyset = map(
        importlib.import_module,
        (
            "0-stream_users",
            "1-batch_processing",
            "2-lazy_paginate",
            "4-stream_ages",
            "5-keyset_paginate",
        ),
    )
    return {
        "stream_users": stream.stream_users,
        "stream_users_in_batches": lambda: batches.stream_users_in_batches(batch_size),
        "lazy_paginate": lambda: pages.lazy_paginate(page_size),
        "keyset_paginate": lambda: keyset.keyset_paginate(page_size),
        "stream_user_ages": ages.stream_user_ages,
    }


# ------------------------------------------------------------------ live data
# Writer threads that each hold their own connection and write transactions of
# 1 to 3 users, one INSERT at a time with a random pause in between, committing
# most and rolling some back, noting when each inserted first and when its
# commit returned; and what a follower yielded, held against that record.

Connect = Callable[[], AbstractContextManager[Any]]


def emails(prefix: str, count: int) -> list[str]:
    """``count`` distinct e-mail addresses starting with ``prefix``."""
    return [f"{prefix}.{number}@example.com" for number in range(count)]


@dataclass
class Transaction:
    """What one writer did in one transaction, with the times that order it."""

    emails: list[str]
    first_insert: float = 0.0  # just before its first INSERT
    committed_at: float = 0.0  # just after COMMIT returned
    committed: bool = False


@dataclass
class Writers:
    """Writer threads, each with its own connection, and what they did."""

    connect: Connect = seed.prodev_connection
    transactions: list[Transaction] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def run(self, writers: int, per_writer: int, hold: float, rollback_share: float) -> None:
        """Run the writers to the end; fail if any of them failed."""
        threads = [
            threading.Thread(target=self.write, args=(n, per_writer, hold, rollback_share))
            for n in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not self.errors, self.errors

    def write(self, writer: int, count: int, hold: float, rollback_share: float) -> None:
        chance = random.Random(writer)
        try:
            with self.connect() as connection:
                cursor = connection.cursor()
                for number in range(count):
                    done = Transaction(emails(f"w{writer}.t{number}", chance.randint(1, 3)))
                    done.first_insert = time.monotonic()
                    for email in done.emails:  # one INSERT each, a pause in between
                        cursor.execute(INSERT, (seed.user_id_for(email), "W", email, 30))
                        time.sleep(chance.uniform(0, hold))
                    if chance.random() < rollback_share:
                        connection.rollback()
                    else:
                        connection.commit()
                        done.committed_at, done.committed = time.monotonic(), True
                    self.transactions.append(done)
        except BaseException as error:  # reported by run()
            self.errors.append(error)


def direct_connection(server: Any, database: str) -> AbstractContextManager[Any]:
    """A plain connection to a cluster node ``server`` alone, closed at the end."""
    return closing(server.connect(database))


def follow_until(
    start: int, last_email: str, timeout: float = 60, got: list[str] | None = None
) -> list[str]:
    """Follow from ``start`` until ``last_email`` comes; the e-mails yielded, in order.

    They are appended to ``got`` as they come, when it is given.
    """
    got = [] if got is None else got
    deadline = time.monotonic() + timeout
    for user in importlib.import_module("6-follow_users").follow_users(start):
        got.append(user["email"])
        if user["email"] == last_email or time.monotonic() > deadline:
            break
    return got


def check_exactly_once_in_commit_order(got: list[str], transactions: list[Transaction]) -> None:
    """Every committed user once, no rolled-back one, and commit order where it is defined:
    a transaction whose commit returned before another's first INSERT comes first."""
    committed = [done for done in transactions if done.committed]
    rolled_back = [email for done in transactions if not done.committed for email in done.emails]
    assert len(got) == len(set(got)), "a user came twice"
    assert not set(got) & set(rolled_back), "a rolled-back user came"
    assert set(got) == {email for done in committed for email in done.emails}
    place = {email: index for index, email in enumerate(got)}
    for done in committed:  # a transaction's rows come in the order it inserted them
        places = [place[email] for email in done.emails]
        assert places == sorted(places), done
    for earlier in committed:
        for later in committed:
            if later.first_insert > earlier.committed_at:
                assert place[later.emails[0]] > place[earlier.emails[-1]], (earlier, later)

"""Concurrent writers and a follower, for the live-data tests (issue 12).

``Writers`` runs threads that each hold their own connection and write
transactions of 1 to 3 users, one INSERT at a time with a random pause in
between, committing most and rolling some back; it notes when each
transaction inserted first and when its commit returned.
``check_exactly_once_in_commit_order`` holds what a follower yielded against
that record.
"""

from __future__ import annotations

import importlib
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import seed
from prodev.produce import INSERT

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

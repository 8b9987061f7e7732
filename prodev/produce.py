"""Simulated arrivals: insert synthetic users at a steady rate.

``python3 -m prodev.produce --rate 50 --for 5`` inserts 250 users, 50 a
second, through the project's own connection code, then prints one summary
line. Every user is new (the e-mail carries a random run tag), and its
user_id is computed as seeding computes it. Rows due at the same moment go
in one transaction, so high rates do not pay one commit per row.
``--timestamps`` also prints ``<time.monotonic() after the commit>\\t<email>``
for each row, which bench/follow.py uses to measure latency.

``in_background(rate, seconds)`` runs the same producer in a thread, for
demos: it yields a ``Commits`` record of when each e-mail was committed, and
deletes the users it inserted when the block ends.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from prodev.backends import Connection, errors_of
from prodev.connections import prodev_connection
from prodev.csvfile import user_id_for
from prodev.errors import SetupError, TryAgain, report, stdout_to_a_pipe

RETRIES = 5  # runs of one transaction that loses a deadlock
MOST_AT_ONCE = 1_000  # rows in one transaction when the producer is behind
INSERT = "INSERT INTO user_data (user_id, name, email, age) VALUES (%s, %s, %s, %s)"
DELETE = "DELETE FROM user_data WHERE user_id = %s"
Committed = Callable[[list[str], float], None]  # (e-mails, monotonic time after commit)


def run_tag(run: str) -> str:
    """How the e-mail of every user of run ``run`` starts."""
    return f"live.{run}."


def synthetic_user(run: str, number: int) -> tuple[str, str, str, int]:
    """The ``number``-th user of run ``run``: (user_id, name, email, age)."""
    email = f"{run_tag(run)}{number}@example.com"
    return user_id_for(email), f"Live User {number}", email, 18 + number * 7 % 80


def produce(
    rate: float,
    seconds: float,
    committed: Committed | None = None,
    stop: threading.Event | None = None,
    run: str | None = None,
) -> int:
    """Insert ``rate`` users a second for ``seconds`` seconds; return how many.

    ``committed`` is called after each commit; ``stop``, once set, ends the
    run early; ``run`` is the tag in the e-mails (default: a random one).
    """
    run, total, sent = run or secrets.token_hex(4), round(rate * seconds), 0
    started = time.monotonic()
    with prodev_connection() as connection:
        while sent < total and not (stop and stop.is_set()):
            due = min(total, int((time.monotonic() - started) * rate) + 1, sent + MOST_AT_ONCE)
            users = [synthetic_user(run, number) for number in range(sent, due)]
            insert(connection, users)
            if committed:
                committed([user[2] for user in users], time.monotonic())
            sent = due
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    return sent


def insert(connection: Connection, users: list[tuple[str, str, str, int]]) -> None:
    """Insert ``users`` in one transaction, again if it loses a deadlock.

    On a Galera cluster that is also how a transaction that lost
    certification ends, and the cluster's advice is to run it again.
    """
    for attempt in range(1, RETRIES + 1):
        try:
            with errors_of(connection):
                connection.cursor().executemany(INSERT, users)
                connection.commit()
            return
        except TryAgain:
            connection.rollback()
            if attempt == RETRIES:
                raise


class Commits:
    """When each e-mail of run ``run`` was committed, filled in by a producer thread."""

    def __init__(self, run: str) -> None:
        self.run = run
        self._times: dict[str, float] = {}
        self._changed = threading.Condition()

    def record(self, emails: list[str], when: float) -> None:
        with self._changed:
            self._times.update(dict.fromkeys(emails, when))
            self._changed.notify_all()

    def emails(self) -> list[str]:
        """Every e-mail committed so far."""
        with self._changed:
            return list(self._times)

    def time_of(self, email: str, timeout: float = 5.0) -> float | None:
        """The commit time of ``email``, waiting for the producer to note it;
        None for a user another writer inserted meanwhile."""
        if not email.startswith(run_tag(self.run)):
            return None
        with self._changed:
            self._changed.wait_for(lambda: email in self._times, timeout)
            return self._times.get(email)


@contextmanager
def in_background(rate: float, seconds: float) -> Iterator[Commits]:
    """Run a producer in a thread for the length of the block (or ``seconds``).

    When the block ends the producer stops and its users are deleted, so a
    demo leaves user_data as it found it.
    """
    commits, stop = Commits(secrets.token_hex(4)), threading.Event()
    worker = threading.Thread(
        target=produce, args=(rate, seconds, commits.record, stop, commits.run)
    )
    worker.start()
    try:
        yield commits
    finally:
        stop.set()
        worker.join()
        with prodev_connection() as connection:
            ids = [(user_id_for(email),) for email in commits.emails()]
            connection.cursor().executemany(DELETE, ids)
            connection.commit()


class Parser(argparse.ArgumentParser):
    """argparse, with a refusal printed as the project's one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def positive(text: str) -> float:
    """A number of users a second or of seconds: finite and above zero."""
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive, finite number")
    return number


def main(argv: list[str] | None = None) -> int:
    """Parse ``--rate`` and ``--for``, produce, print a summary line."""
    parser = Parser(prog="python3 -m prodev.produce", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=positive, default=10.0, help="users per second (default 10)")
    parser.add_argument(
        "--for", dest="seconds", type=positive, default=5.0, help="seconds (default 5)"
    )
    parser.add_argument("--timestamps", action="store_true", help="print each row's commit time")
    args = parser.parse_args(argv)
    if not math.isfinite(args.rate * args.seconds):
        parser.error(f"--rate {args.rate:g} for {args.seconds:g} s is too many users")

    def timestamps(emails: list[str], when: float) -> None:
        print("".join(f"{when:.6f}\t{email}\n" for email in emails), end="", flush=True)

    started = time.monotonic()
    try:
        with stdout_to_a_pipe():
            count = produce(args.rate, args.seconds, timestamps if args.timestamps else None)
            elapsed = time.monotonic() - started
            print(f"produce: {count} users in {elapsed:.2f} s ({count / elapsed:.1f}/s)")
    except SetupError as error:
        report(error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Plain helpers that several test modules share (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import csv
import importlib
import os
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import seed

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
        ("0-stream_users", "1-batch_processing", "2-lazy_paginate", "4-stream_ages",
         "5-keyset_paginate"),
    )
    return {
        "stream_users": stream.stream_users,
        "stream_users_in_batches": lambda: batches.stream_users_in_batches(batch_size),
        "lazy_paginate": lambda: pages.lazy_paginate(page_size),
        "keyset_paginate": lambda: keyset.keyset_paginate(page_size),
        "stream_user_ages": ages.stream_user_ages,
    }

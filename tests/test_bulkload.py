"""The bulk load of ``python3 seed.py``: its fast path, its temporary files, its processes.

What a user sees when a seed is interrupted, killed or short of disk, and
that the fast reader of strict files loads exactly what the ordinary one
does. Every test drives ``seed.py`` (or a numbered script) as a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import mysql.connector
import pytest
from conftest import TEST_DB, run_script, server_settings, table_rows, wait_for

from prodev.backends.mysql import LOCAL_PATH_MAX
from prodev.bulkload import seed_lock_name
from tests.support.helpers import file_rows, one_line_error, write_users_csv

only_mysql = pytest.mark.parametrize("engine", ["mysql"], indirect=True)
pytestmark = only_mysql


def write_users(path: Path, rows: int, extra: str = "") -> Path:
    """A CSV in the sample's strict form with ``rows`` users, then the ``extra`` line."""
    write_users_csv(path, rows)
    with open(path, "a", encoding="utf-8", newline="") as out:
        out.write(extra)
    return path


@pytest.fixture
def seed_process(
    spawn: Callable[..., subprocess.Popen[str]],
) -> Callable[[Path, dict[str, str]], subprocess.Popen[str]]:
    """Start ``seed.py csv`` in the background; returns once it is reading ``csv``."""

    def start(csv: Path, env: dict[str, str]) -> subprocess.Popen[str]:
        process = spawn("seed.py", str(csv), env=env)
        assert wait_for(lambda: reading(process.pid, csv), timeout=60), "seed.py never read it"
        return process

    return start


def reading(pid: int, csv: Path) -> bool:
    """Whether process ``pid`` has ``csv`` open."""
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    return any(_target(fd) == str(csv) for fd in fds)


def _target(link: Path) -> str | None:
    try:
        return os.readlink(link)
    except OSError:
        return None


def children(pid: int) -> list[int]:
    """The processes ``pid`` has started and not yet reaped."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def private_tmp(empty_table: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """db_env with TMPDIR set to an empty folder of the test's own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    yield {**empty_table, "TMPDIR": str(folder)}


@pytest.fixture
def big_csv(tmp_path: Path) -> Path:
    """Enough users that a seed runs for a while (seconds) on any machine."""
    return write_users(tmp_path / "big.csv", 300_000)


# --------------------------------------------------------------- fast reader


def test_the_fast_reader_loads_what_the_ordinary_reader_loads(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    strict = write_users(tmp_path / "strict.csv", 30_000)  # more than one 1 MiB block
    done = run_script("seed.py", str(strict), env=empty_table)
    assert done.returncode == 0, done.stderr
    fast = table_rows()
    # An unquoted last line is valid but not strict: the whole file goes the
    # ordinary way.
    ordinary = write_users(tmp_path / "ordinary.csv", 30_000, "Zed Last,zed@example.org,30.5\n")
    done = run_script("seed.py", str(ordinary), env=empty_table)
    assert done.returncode == 0, done.stderr
    assert "30000 already present" in done.stdout
    rows = table_rows()
    assert len(fast) == 30_000
    assert [row for row in rows if row[1] != "Zed Last"] == fast
    assert len(rows) == 30_001


def test_a_bad_line_after_many_strict_ones_is_named_and_nothing_is_loaded(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    csv = write_users(tmp_path / "late.csv", 30_000, '"Late Bad","late@example.org","1000"\n')
    done = run_script("seed.py", str(csv), env=empty_table)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {csv}: line 30002: field 'age' is not an age from 0 to 999.99 "
        "with at most two decimals: '1000'"
    ]
    assert table_rows() == []


# ------------------------------------------------------- temporary files (#2)


def test_reading_needs_no_spool_folder_and_creates_none(
    private_tmp: dict[str, str], tmp_path: Path
) -> None:
    # A file where a predictable spool folder would go must not matter.
    Path(private_tmp["TMPDIR"], f"alx-prodev-spool-{os.getuid()}").write_text("not a folder")
    seeded = run_script("seed.py", env=private_tmp)
    assert seeded.returncode == 0, seeded.stderr
    streamed = run_script("0-stream_users.py", env=private_tmp)
    assert streamed.returncode == 0, streamed.stderr
    assert len(streamed.stdout.splitlines()) == 6
    assert sorted(os.listdir(private_tmp["TMPDIR"])) == [f"alx-prodev-spool-{os.getuid()}"]


def test_a_connection_may_load_no_local_file_outside_a_seed(
    private_tmp: dict[str, str], tmp_path: Path
) -> None:
    planted = Path(private_tmp["TMPDIR"], f"alx-prodev-spool-{os.getuid()}")
    planted.mkdir()
    (planted / "rows.tsv").write_text("x\tPlanted\tplanted@example.org\t1\n")
    code = (
        "import seed\n"
        "from prodev.bulkload import LOAD_SPOOL\n"
        "with seed.prodev_connection() as connection:\n"
        "    cursor = connection.cursor()\n"
        f"    cursor.execute(LOAD_SPOOL, ({str(planted / 'rows.tsv')!r},))\n"
        "    connection.commit()\n"
    )
    done = run_script("-c", code, env=private_tmp)
    assert done.returncode != 0
    assert "LOAD DATA LOCAL INFILE file request rejected" in done.stderr
    assert table_rows() == []


# ------------------------------------------------------------ sort fails (#4)


def test_a_failing_sort_is_one_error_line(private_tmp: dict[str, str], tmp_path: Path) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    fake = bin_folder / "sort"
    fake.write_text(
        "#!/bin/sh\necho 'sort: write failed: /tmp/sortXYZ: No space left on device' >&2\nexit 2\n"
    )
    fake.chmod(0o755)
    env = {**private_tmp, "PATH": f"{bin_folder}{os.pathsep}{private_tmp['PATH']}"}
    done = run_script("seed.py", str(write_users(tmp_path / "users.csv", 5_000)), env=env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: sort failed while ordering the rows: "
        "sort: write failed: /tmp/sortXYZ: No space left on device"
    ]
    assert table_rows() == []


# ---------------------------------------------------------------- Ctrl-C (#7)


def test_ctrl_c_during_a_seed_is_one_line_and_commits_nothing(
    private_tmp: dict[str, str], big_csv: Path, seed_process: Callable
) -> None:
    process = seed_process(big_csv, private_tmp)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.splitlines() == [f"seed: {big_csv.name}: interrupted, nothing committed"]
    assert "Table user_data created successfully" in stdout
    assert table_rows() == []
    assert os.listdir(private_tmp["TMPDIR"]) == []


# ------------------------------------------------------- killed mid-seed (#8)


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_seed_killed_midway_leaves_no_files_and_no_sort_running(
    private_tmp: dict[str, str], big_csv: Path, kill: signal.Signals, seed_process: Callable
) -> None:
    process = seed_process(big_csv, private_tmp)
    assert wait_for(lambda: children(process.pid), timeout=30), "no sort started"
    sorters = children(process.pid)
    process.send_signal(kill)
    process.communicate(timeout=60)
    assert wait_for(lambda: not any(running(pid) for pid in sorters), timeout=10), (
        "sort kept running after seed.py died"
    )
    assert wait_for(lambda: not os.listdir(private_tmp["TMPDIR"]), timeout=10), os.listdir(
        private_tmp["TMPDIR"]
    )
    assert table_rows() == []


# ------------------------------------------- the FIFO hand-off, timing forced

# seed.py with two things forced: the load fails on the server before the
# driver opens the FIFO, and the feeder thread runs only once it is joined,
# that is after the load is over: the order a busy machine can give.
LATE_FEEDER = """
import sys
import threading

import seed
from prodev import bulkload


class LateThread(threading.Thread):
    def start(self):
        pass  # held back until joined

    def join(self, timeout=None):
        super().start()
        super().join(timeout)


threading.Thread = LateThread
bulkload.LOAD_SPOOL = bulkload.LOAD_SPOOL.replace("TABLE user_data", "TABLE no_such_table")
sys.exit(seed.main(sys.argv[1:]))
"""


def test_a_load_that_fails_before_the_feeder_opens_the_fifo_ends_and_cleans_up(
    private_tmp: dict[str, str], tmp_path: Path
) -> None:
    csv = write_users(tmp_path / "users.csv", 5_000)

    done = run_script("-c", LATE_FEEDER, str(csv), env=private_tmp, timeout=60)

    assert "no_such_table" in one_line_error(done)
    assert os.listdir(private_tmp["TMPDIR"]) == [], "the load folder was left behind"
    assert table_rows() == []


# ------------------------------------------------ a TMPDIR the driver cannot use


def long_folder(base: Path, length: int) -> Path:
    """A folder under ``base`` whose path is ``length`` characters long."""
    folder = base
    while len(str(folder)) < length:
        folder /= "d" * min(60, length - len(str(folder)) - 1)
    folder.mkdir(parents=True)
    assert len(str(folder)) == length
    return folder


TMPDIRS = {
    "not UTF-8": lambda base: base / os.fsdecode(b"tmp-\xff"),
    "482 characters": lambda base: long_folder(base, 482),
}


@pytest.fixture(params=TMPDIRS)
def unusable_tmp(
    request: pytest.FixtureRequest, empty_table: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    """db_env with a TMPDIR under which the driver cannot load a FIFO."""
    folder = TMPDIRS[request.param](tmp_path)
    folder.mkdir(exist_ok=True)
    return {**empty_table, "TMPDIR": str(folder)}


def test_auto_inserts_in_batches_when_tmpdir_cannot_hold_the_fifo(
    unusable_tmp: dict[str, str],
) -> None:
    done = run_script("seed.py", env={**unusable_tmp, "LOAD_METHOD": "auto"})

    assert done.returncode == 0, done.stderr
    assert "1000 rows read, 1000 inserted" in done.stdout
    assert done.stderr == ""
    assert len(table_rows()) == 1000
    assert os.listdir(unusable_tmp["TMPDIR"]) == []


def test_load_data_is_one_line_when_tmpdir_cannot_hold_the_fifo(
    unusable_tmp: dict[str, str],
) -> None:
    done = run_script("seed.py", env={**unusable_tmp, "LOAD_METHOD": "load-data"})

    line = one_line_error(done)
    assert line.startswith("error: LOAD_METHOD=load-data, but the path of a FIFO under TMPDIR")
    assert table_rows() == []
    assert os.listdir(unusable_tmp["TMPDIR"]) == []


@pytest.mark.parametrize("pure", ["0", "1"], ids=["C extension", "pure Python"])
def test_the_longest_tmpdir_the_client_library_takes_still_loads_data(
    empty_table: dict[str, str], tmp_path: Path, pure: str
) -> None:
    # The FIFO's path is TMPDIR + "/alx-prodev-load-XXXXXXXX/rows.tsv": 511 bytes
    # loads on the C extension, 512 is cut short (see LOCAL_PATH_MAX).
    folder = long_folder(tmp_path, LOCAL_PATH_MAX - len("/alx-prodev-load-XXXXXXXX/rows.tsv"))
    csv = write_users(tmp_path / "users.csv", 5_000)
    env = {**empty_table, "TMPDIR": str(folder), "LOAD_METHOD": "load-data", "MYSQL_USE_PURE": pure}
    done = run_script("seed.py", str(csv), env=env)
    assert done.returncode == 0, done.stderr
    assert [(*row[:3], Decimal(row[3])) for row in table_rows()] == file_rows(csv)
    assert os.listdir(folder) == []


# --------------------------------------- waiting for another load of the table

WAITED = "seed: another load of this table is running; waiting for it"
# Reads time out after 2 s: the 5 s wait for the lock outlasts them.
SHORT_READS = {"MYSQL_IO_TIMEOUT": "2", "SEED_LOCK_WAIT": "5"}


@pytest.fixture
def held_lock(empty_table: dict[str, str]) -> Iterator[Callable[[], None]]:
    """The seed lock of the test database, held by the test; yields its release."""
    connection = mysql.connector.connect(**server_connect_args())
    cursor = connection.cursor()
    name = seed_lock_name(TEST_DB)
    cursor.execute("SELECT GET_LOCK(%s, 0)", (name,))
    assert cursor.fetchall() == [(1,)]

    def release() -> None:
        cursor.execute("SELECT RELEASE_LOCK(%s)", (name,))
        cursor.fetchall()

    yield release
    connection.close()


def server_connect_args() -> dict[str, object]:
    settings = server_settings()
    return {
        "host": settings["MYSQL_HOST"],
        "port": int(settings["MYSQL_PORT"]),
        "user": settings["MYSQL_USER"],
        "password": settings["MYSQL_PASSWORD"],
    }


def test_a_second_load_waits_the_whole_lock_wait_past_the_read_timeout_then_one_line(
    held_lock: Callable[[], None], empty_table: dict[str, str]
) -> None:
    started = time.monotonic()
    done = run_script("seed.py", env={**empty_table, **SHORT_READS}, timeout=60)

    assert time.monotonic() - started >= 5
    lines = done.stderr.splitlines()
    assert done.returncode == 1, done.stderr
    assert lines[0] == WAITED
    assert lines[1:] == [
        "error: another seed is loading this table: gave up waiting 5 s for it (SEED_LOCK_WAIT): "
        "try again when it has finished"
    ]
    assert table_rows() == []


def test_a_second_load_goes_ahead_when_the_first_ends_after_the_read_timeout(
    held_lock: Callable[[], None],
    empty_table: dict[str, str],
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    load = spawn("seed.py", env={**empty_table, **SHORT_READS})
    assert load.stderr.readline().strip() == WAITED  # it is waiting: now outlast its reads
    time.sleep(3)
    held_lock()
    out, err = load.communicate(timeout=60)

    assert load.returncode == 0, err
    assert "1000 rows read, 1000 inserted" in out
    assert err == ""
    assert len(table_rows()) == 1000

"""Loading validated users into user_data: all or nothing, fast, in constant memory.

On MySQL the validated rows go through the system ``sort`` into
``LOAD DATA LOCAL INFILE`` in user_id order; where the server forbids that,
and on SQLite, they are inserted in batches. Either way it is one
transaction, committed only after the last row of the file validated, and
rows whose user_id is already present are skipped, so a re-run inserts
nothing twice.

Nothing of a load outlives it: no spool file is ever written under a name
(the sorted rows reach the driver through a FIFO that is unlinked, with the
private folder holding it, as soon as the driver opens it); ``sort`` runs in
a session of its own and, on Linux, dies with this process however it dies.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from prodev.backends import Connection, errors_of
from prodev.config import load_config
from prodev.csvfile import NotStrict, User, read_users, strict_blocks, user_id_for
from prodev.errors import SetupError, printable
from prodev.schema import TABLE, check_table

BATCH_SIZE = 1_000  # rows per executemany on the batched path, and per spool block
LOCK_PREFIX = "alx_prodev.seed."  # then a digest of the table's name: 56 characters
INSERT_ROWS = "{insert} INTO user_data (user_id, name, email, age) VALUES (%s, %s, %s, %s)"
# The spool is MySQL's native tab-separated format: backslash escapes the
# characters that would otherwise end a field or a line.
LOAD_SPOOL = """
LOAD DATA LOCAL INFILE %s IGNORE INTO TABLE user_data CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'
(user_id, name, email, age)"""
SPOOL_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
SPOOL_SPECIAL = "".join(map(chr, SPOOL_ESCAPES))  # the characters a spool value escapes
_NEEDS_ESCAPE = re.compile(f"[{re.escape(SPOOL_SPECIAL)}]")
# -s keeps duplicates of one user_id in file order, so the first one wins;
# LC_ALL=C (in _sorter) sorts bytes, as the ascii_bin column does. A small
# buffer costs sort less CPU than a big one (runs that fit the cache, then a
# cheap merge), and it sorts each run while this process validates the next.
SORT_OPTIONS = ("-s", "-t", "\t", "-k1,1", "-S", "16M")
FOLDER = "alx-prodev-load-"  # prefix of the private folder that holds a load's FIFO
# Seconds between a feeder's looks for the driver at the FIFO: the first, and the longest.
FEED_POLL, FEED_POLL_MAX = 0.001, 0.02
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
Block = tuple[int, int, str]  # rows, progress made, spool lines


@dataclass
class LoadResult:
    """What one load did: rows read from the file and rows newly inserted."""

    read: int
    inserted: int

    @property
    def present(self) -> int:
        """Rows skipped because their user_id was already in the table."""
        return self.read - self.inserted


def load_users(connection: Connection, path: Path) -> LoadResult:
    """Insert the users of CSV file ``path`` that are not already in user_data.

    All or nothing: the whole file is validated inside one transaction, and
    a bad row, a lost server or an interrupt leaves the table as it was. A
    concurrent run of the same load waits for this one to finish. An
    existing table that would round, cut or mangle a value is refused first.
    """
    with errors_of(connection):
        check_table(connection)
        with _seed_lock(connection):
            try:
                if _use_load_data(connection):
                    with _sorted_rows(path) as (rows, read):
                        inserted = _load_spool(connection, rows)
                else:
                    read, inserted = _insert_batches(connection, read_users(path))
                connection.commit()
            except BaseException:
                _rollback(connection)
                raise
    return LoadResult(read, inserted)


def _rollback(connection: Connection) -> None:
    try:
        with errors_of(connection):
            connection.rollback()
    except SetupError:
        pass  # the connection is gone, and its transaction with it


def _seed_lock(connection: Connection) -> AbstractContextManager[None]:
    """Serialise loads into the same table across processes."""
    config = load_config()
    return connection.backend.load_lock(
        connection, seed_lock_name(config.database), config.seed_lock_wait
    )


def seed_lock_name(database: str) -> str:
    """The name of the lock a load of ``database``'s user_data holds.

    Lock names are server-wide and at most 64 characters on MySQL 8, and a
    database name alone may have 64: a digest of it has a fixed length.
    """
    digest = hashlib.sha256(f"{database}.{TABLE}".encode()).hexdigest()
    return f"{LOCK_PREFIX}{digest[:40]}"


def _use_load_data(connection: Connection) -> bool:
    """LOAD DATA LOCAL INFILE as LOAD_METHOD says and the server and TMPDIR allow."""
    method = load_config().load_method
    if not connection.backend.can_load_data or method == "insert":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@local_infile")
        allowed = bool(cursor.fetchone()[0])
    missing = (
        "this server has local_infile off"
        if not allowed
        else "no sort command on PATH"
        if shutil.which("sort") is None  # the bulk path sorts
        else _unloadable(connection, _fifo_in(Path(tempfile.gettempdir(), f"{FOLDER}xxxxxxxx")))
    )
    if method == "load-data" and missing:
        raise SetupError(f"LOAD_METHOD=load-data, but {missing}: set LOAD_METHOD=auto or insert")
    return not missing


def _unloadable(connection: Connection, fifo: Path) -> str:
    """Why the driver could not load ``fifo`` (a path mkdtemp would give), or ""."""
    problem = connection.backend.local_file_problem(str(fifo))
    where = printable(tempfile.gettempdir())
    return f"the path of a FIFO under TMPDIR ({where}) {problem}" if problem else ""


def _fifo_in(folder: Path) -> Path:
    return folder / "rows.tsv"


@contextmanager
def _sorted_rows(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    """The validated users of ``path`` as spool lines in user_id order, and their count.

    InnoDB stores rows in primary-key order, and loading them in that order
    is four times faster than in the random order of UUIDs. The lines go
    through the system ``sort``, which sorts in bounded memory with its own
    temporary files while this process is still validating. The strict fast
    reader goes first; at its first doubt its work is dropped and the file is
    read again the ordinary way, which applies every rule and names bad lines.
    """
    try:
        with _sorter() as sorter:
            size = path.stat().st_size if path.is_file() else None  # else NotStrict says why
            count = _pour_rows(sorter, _strict_spool(path), size, "B")
            yield sorter.stdout, count
        return
    except NotStrict:
        pass
    with _sorter() as sorter:
        count = _pour_rows(sorter, _checked_blocks(path), None, " rows")
        yield sorter.stdout, count


def _pour_rows(
    sorter: subprocess.Popen, blocks: Iterable[Block], total: int | None, unit: str
) -> int:
    """Write the blocks to sort's input; a progress bar on a terminal only.

    The bar counts bytes of the file when their total is known (the strict
    path), for the time left, and rows otherwise; rows per second either way.
    """
    count = 0
    with _progress_bar(total, unit) as progress:
        for rows, done, text in blocks:
            sorter.stdin.write(text.encode())
            count += rows
            if progress is not None:
                rate = count / max(progress.format_dict["elapsed"], 1e-3)
                progress.set_postfix_str(f"{count:,} rows, {rate:,.0f} rows/s", refresh=False)
                progress.update(done)
    sorter.stdin.close()
    return count


def _progress_bar(total: int | None, unit: str) -> AbstractContextManager[Any]:
    """A tqdm bar on a terminal where tqdm is installed; None (no bar) otherwise."""
    try:
        from tqdm import tqdm  # here: importing seed to read must not pay for it
    except ImportError:  # optional: the curriculum names only the driver and dotenv
        return nullcontext()
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=True,
        desc="seed: validating",
        leave=False,
        disable=not sys.stderr.isatty(),
    )


def _checked_blocks(path: Path) -> Iterator[Block]:
    """Spool lines for the users read_users validates, one block per BATCH_SIZE users."""
    users = read_users(path)
    while batch := list(islice(users, BATCH_SIZE)):
        lines = [f"{u.user_id}\t{_escaped(u.name)}\t{_escaped(u.email)}\t{u.age}\n" for u in batch]
        yield len(batch), len(batch), "".join(lines)


def _strict_spool(path: Path) -> Iterator[Block]:
    """Spool lines for a file in csvfile's strict form, refusing what would need escaping."""
    for rows, size in strict_blocks(path, excluded=SPOOL_SPECIAL):
        lines = [f"{user_id_for(email)}\t{name}\t{email}\t{age}\n" for name, email, age in rows]
        yield len(rows), size, "".join(lines)


def _escaped(text: str) -> str:
    # translate() costs more than the search, and nearly no value needs it.
    return text.translate(SPOOL_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


@contextmanager
def _sorter() -> Iterator[subprocess.Popen]:
    """A running ``sort`` of spool lines by user_id, stopped if it is abandoned.

    It runs in a session of its own, so that Ctrl-C reaches seed.py alone,
    which then stops it; and on Linux it receives SIGTERM when seed.py dies,
    even by SIGKILL, so that it never runs on, orphaned, and removes its
    temporary files.
    """
    sorter = subprocess.Popen(
        [shutil.which("sort") or "sort", *SORT_OPTIONS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "LC_ALL": "C"},
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()) if sys.platform == "linux" else None,
    )
    try:
        yield sorter
    except BaseException as error:
        sorter.terminate()  # SIGTERM: sort removes its temporary files, SIGKILL would not
        errors = _reap(sorter)
        if isinstance(error, BrokenPipeError):  # sort stopped reading: it failed (disk full, ...)
            raise _sort_failed(errors, sorter.returncode) from None
        raise
    errors = _reap(sorter)
    if sorter.returncode:
        raise _sort_failed(errors, sorter.returncode)


def _reap(sorter: subprocess.Popen) -> str:
    """Close sort's pipes, wait for it to end, and return what it said on stderr."""
    for pipe in (sorter.stdin, sorter.stdout):
        with suppress(OSError):  # closing stdin flushes, into a pipe sort may have left
            pipe.close()
    errors = sorter.stderr.read().decode(errors="replace")
    sorter.stderr.close()
    sorter.wait()
    return errors


def _sort_failed(errors: str, returncode: int) -> SetupError:
    reason = errors.strip().splitlines()[-1:] or [f"exit code {returncode}"]
    return SetupError(f"sort failed while ordering the rows: {reason[0]}")


def _die_with(parent: int) -> Callable[[], None]:
    """In the child before exec: ask Linux for SIGTERM when ``parent`` ends."""

    def arrange() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return arrange


def _load_spool(connection: Connection, rows: BinaryIO) -> int:
    """LOAD DATA LOCAL INFILE the spool lines read from ``rows``, returning rows inserted.

    The lines reach the driver through a FIFO in a folder this process has
    just created for itself, the only folder the connection may load from
    while the load runs. The folder and the FIFO are removed as soon as the
    driver has opened it, so nothing of the spool is ever left on disk.
    """
    folder = Path(tempfile.mkdtemp(prefix=FOLDER))
    fifo = _fifo_in(folder)
    try:
        status = folder.stat()
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            raise SetupError(f"{folder}: not a private folder of this user; check TMPDIR")
        if problem := _unloadable(connection, fifo):
            raise SetupError(problem)
        os.mkfifo(fifo, 0o600)
        done = threading.Event()
        feeder = threading.Thread(target=_feed, args=(rows, fifo, done), daemon=True)
        feeder.start()
        try:
            connection.set_allow_local_infile_in_path(str(folder))
            with connection.cursor() as cursor:
                cursor.execute(LOAD_SPOOL, (str(fifo),))
                return cursor.rowcount
        finally:
            connection.set_allow_local_infile_in_path("")
            done.set()  # a feeder still waiting for the driver gives up
            feeder.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _feed(rows: BinaryIO, fifo: Path, done: threading.Event) -> None:
    """Copy ``rows`` into the FIFO once the load has opened its other end.

    The FIFO is opened without blocking, again and again until a reader is
    there or the load is over (``done``): a blocking open would wait for
    ever for a load that failed before it opened the FIFO, whatever the
    order in which the two threads run.
    """
    pause = FEED_POLL
    while True:
        try:
            sink = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as error:  # ENXIO: no reader yet; ENOENT: the load is being cleaned up
            if error.errno not in (errno.ENXIO, errno.ENOENT) or done.wait(pause):
                return
            pause = min(pause * 2, FEED_POLL_MAX)
    os.set_blocking(sink, True)
    with open(sink, "wb") as out:
        fifo.unlink()
        fifo.parent.rmdir()
        with suppress(BrokenPipeError):  # the load failed; it reports why
            shutil.copyfileobj(rows, out, 1 << 20)


def _insert_batches(connection: Connection, users: Iterable[User]) -> tuple[int, int]:
    statement = INSERT_ROWS.format(insert=connection.backend.insert_ignore)
    read = inserted = 0
    rows = iter(users)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, BATCH_SIZE)):
            cursor.executemany(statement, batch)
            read += len(batch)
            inserted += cursor.rowcount
    return read, inserted

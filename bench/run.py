#!/usr/bin/env python3
"""Run every benchmark figure of docs/performance.md; write RESULTS.md and plots.

One command: ``python3 bench/run.py`` (sizes 10k, 100k and 1M rows, three
repeats each). ``--quick`` is a tiny run (2,000 rows, one repeat) that the
test suite uses to keep the benchmark working; it writes to
``bench/results/quick/`` unless ``--out`` says otherwise.

The server is the one the project is configured for (``MYSQL_*`` in the
environment or ``.env``, read through ``prodev.config.load_config``), but every
figure runs in a database of the benchmark's own, created at the start and
dropped at the end; ``ALX_prodev`` is never touched. Each measurement is a
fresh subprocess (``bench/worker.py FIGURE`` for Python figures, the
``mariadb`` client or ``seed.py`` for commands), repeated, and the median is
reported. Every comparison is a ratio to an anchor measured in the same run.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_data import write_csv
from report import OFFSET_MAX_ROWS, write_outputs

import seed
from prodev.backends.mysql import TABLE_SQL as MYSQL_TABLE
from prodev.config import IDENTIFIER, Config, load_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_ROWS = (10_000, 200_000, 1_000_000)
DEFAULT_REPEAT = 5
QUICK_ROWS, QUICK_REPEAT = (2_000,), 1
SEED = 0
MEASURED_FILES = ("seed.py", "[0-9]-*.py", "prodev", "bench")
PYTHON_FIGURES = ("stream", "batches", "pages", "ages", "avg_sql", "fetchall", "take6", "keyset")
COLUMNS = "user_id, name, email, age"
LOAD_CSV = (
    "LOAD DATA LOCAL INFILE '{path}' INTO TABLE user_data CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
    "IGNORE 1 LINES (name, email, age) SET user_id = UUID()"
)


class BenchError(Exception):
    """A failure that ends the run, reported as one line."""


@dataclass
class Run:
    """One finished subprocess: its wall time and what it printed."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Samples:
    """Every measurement of the run: samples[figure][rows] is a list of dicts."""

    data: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))

    def add(self, name: str, rows: int, sample: dict) -> None:
        """Record one repeat of figure ``name`` at ``rows`` rows."""
        self.data[name][rows].append(sample)


# ------------------------------------------------------------------ processes


def run_process(argv: list[str], env: dict[str, str], keep_stdout: bool = True) -> Run:
    """Run ``argv`` to the end and time it (output to /dev/null unless kept)."""
    stdout = subprocess.PIPE if keep_stdout else subprocess.DEVNULL
    started = time.perf_counter()
    done = subprocess.run(
        argv, check=False, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True
    )
    seconds = time.perf_counter() - started
    return Run(seconds, done.returncode, done.stdout or "", done.stderr)


def checked(run: Run, what: str) -> Run:
    """Return ``run`` if it succeeded, else raise with its last error line."""
    if run.returncode != 0:
        lines = (run.stderr or run.stdout).strip().splitlines() or ["no output"]
        raise BenchError(f"{what} failed (exit {run.returncode}): {lines[-1]}")
    return run


@dataclass
class Server:
    """The configured MySQL server, reached with the ``mariadb``/``mysql`` client."""

    config: Config
    database: str
    client: str

    @property
    def env(self) -> dict[str, str]:
        """Environment for every child: this run's database, MySQL required."""
        host, port = self.config.hosts[0]
        return {
            **os.environ,
            "DB_ENGINE": "mysql",
            "MYSQL_HOST": host,
            "MYSQL_PORT": str(port),
            "MYSQL_HOSTS": "",
            "MYSQL_USER": self.config.user,
            "MYSQL_PASSWORD": self.config.password,
            "MYSQL_PWD": self.config.password,  # read by the client, never on argv
            "MYSQL_DATABASE": self.database,
        }

    def client_argv(self, sql: str, *options: str, database: bool = True) -> list[str]:
        """The client command running ``sql``; ``--no-defaults`` skips my.cnf."""
        host, port = self.config.hosts[0]
        argv = [self.client, "--no-defaults", f"-h{host}", f"-P{port}", f"-u{self.config.user}"]
        return [*argv, *options, *([self.database] if database else []), "-e", sql]

    def command(
        self, sql: str, *options: str, database: bool = True, keep_stdout: bool = True
    ) -> Run:
        """Run ``sql`` with the client and return the finished process."""
        argv = self.client_argv(sql, *options, database=database)
        return run_process(argv, self.env, keep_stdout)

    def execute(self, sql: str, database: bool = True) -> str:
        """Run ``sql``, raise on failure, return its tab-separated output."""
        return checked(
            self.command(sql, "-N", "-B", database=database), f"SQL {sql[:60]!r}"
        ).stdout.strip()


def find_client() -> str:
    """The path of the ``mariadb`` or ``mysql`` command-line client."""
    for name in ("mariadb", "mysql"):
        if path := shutil.which(name):
            return path
    raise BenchError("no mariadb or mysql client on PATH: install mariadb-client")


@contextmanager
def bench_database(server: Server) -> Iterator[None]:
    """Create the run's own database and drop it however the run ends."""
    name = server.database
    server.execute(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`", database=False)
    try:
        yield
    finally:
        server.execute(f"DROP DATABASE IF EXISTS `{name}`", database=False)


def worker(server: Server, name: str) -> dict:
    """Measure figure ``name`` in a fresh ``bench/worker.py`` process."""
    run = checked(run_process([sys.executable, str(HERE / "worker.py"), name], server.env), name)
    return {**json.loads(run.stdout), "wall": run.seconds, "stderr": run.stderr}


def timed(run: Run, what: str) -> dict:
    """A command's measurement: the wall time of its process.

    No RSS: Linux carries ``ru_maxrss`` over fork and exec, so a child's
    figure would be the harness's own high-water mark, not the command's.
    """
    checked(run, what)
    return {"seconds": run.seconds, "wall": run.seconds}


# ------------------------------------------------------------------- figures


def measure_loads(server: Server, csv: Path, rows: int, repeat: int, samples: Samples) -> None:
    """``seed.py`` into an empty table against raw ``LOAD DATA``, alternating.

    The last load of each repeat is ``seed.py``'s, so the read figures that
    follow run on the table exactly as the project seeds it.
    """
    server.execute(f"DROP TABLE IF EXISTS user_data; {MYSQL_TABLE}")
    load = LOAD_CSV.format(path=csv)
    for _ in range(repeat):
        server.execute("TRUNCATE TABLE user_data")
        samples.add("load_data", rows, timed(server.command(load, "--local-infile=1"), "LOAD DATA"))
        server.execute("TRUNCATE TABLE user_data")
        argv = [sys.executable, str(ROOT / "seed.py"), str(csv)]
        samples.add("seed", rows, timed(run_process(argv, server.env), "seed.py"))
    count = int(server.execute("SELECT COUNT(*) FROM user_data"))
    if count != rows:
        raise BenchError(f"seed.py loaded {count} rows of {rows}")


def measure_reads(server: Server, rows: int, repeat: int, samples: Samples) -> None:
    """Every read figure, interleaved per repeat so that drift hits all alike."""
    names = PYTHON_FIGURES + (("offset",) if rows <= OFFSET_MAX_ROWS else ())
    read_all = f"SELECT {COLUMNS} FROM user_data ORDER BY user_id"
    average = "SELECT AVG(age) FROM user_data"
    ages_script = [sys.executable, str(ROOT / "4-stream_ages.py")]
    for _ in range(repeat):
        client = server.command(read_all, "--quick", "-N", keep_stdout=False)
        samples.add("client_read", rows, timed(client, "client read"))
        for name in names:
            samples.add(name, rows, worker(server, name))
        # Whole processes, and what merely starting each kind of process costs.
        samples.add("avg_client", rows, timed(server.command(average, "-N"), "client AVG"))
        samples.add("ages_process", rows, timed(run_process(ages_script, server.env), "ages"))
        start = run_process([sys.executable, "-c", "import seed"], server.env)
        samples.add("python_start", rows, timed(start, "python start"))
        samples.add("client_start", rows, timed(server.command("SELECT 1", "-N"), "client start"))


def server_average(server: Server) -> str:
    """``SUM(age)/COUNT(*)`` exactly as the server computes and prints it."""
    return server.execute("SELECT SUM(age) / COUNT(*) FROM user_data")


def measure_size(server: Server, rows: int, repeat: int, samples: Samples, workdir: Path) -> str:
    """All figures at one size; returns the server's exact average."""
    csv = workdir / f"users-{rows}.csv"
    with open(csv, "w", encoding="utf-8", newline="") as out:
        write_csv(out, rows, SEED)
    measure_loads(server, csv, rows, repeat, samples)
    csv.unlink()
    measure_reads(server, rows, repeat, samples)
    return server_average(server)


# ---------------------------------------------------------------- the machine


def machine() -> dict:
    """The machine's cores, memory and CPU, for the report."""
    meminfo = Path("/proc/meminfo").read_text().split()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
        "cpu": models[0] if models else platform.machine(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load_since(before: float) -> str:
    """The machine's load average at a run's start and now, for a report."""
    return f"{before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"


def run_context(stack: dict, load_before: float, repeat: int) -> dict:
    """What a report says of its run: machine, driver, code, load, repeats."""
    return {
        **machine(),
        **stack,
        "code": measured_code(),
        "load": load_since(load_before),
        "repeat": repeat,
    }


def measured_code() -> str:
    """The commit measured, marked ``+ uncommitted changes`` if the tree differs."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changes = subprocess.run(
        [*git, "status", "--porcelain", "--", *MEASURED_FILES, ":(exclude)bench/results"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + (" + uncommitted changes" if changes.stdout.strip() else "")


# ----------------------------------------------------------------- the run


def parse_rows(text: str) -> tuple[int, ...]:
    """``10000,100000`` -> (10000, 100000), sorted and positive."""
    sizes = sorted({int(item.replace("_", "")) for item in text.split(",") if item.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("rows must be positive integers, comma-separated")
    return tuple(sizes)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line and fill in the --quick defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=parse_rows, help="sizes, comma-separated (default 10000,200000,1000000)"
    )
    parser.add_argument(
        "--repeat", type=int, help="runs of each figure; the median is reported (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny run: 2000 rows, 1 repeat")
    parser.add_argument("--out", type=Path, help="output folder (default bench/results)")
    parser.add_argument(
        "--database", default=f"bench_streaming_{os.getpid()}", help="scratch database"
    )
    args = parser.parse_args(argv)
    args.rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    args.repeat = args.repeat or (QUICK_REPEAT if args.quick else DEFAULT_REPEAT)
    args.out = args.out or HERE / "results" / ("quick" if args.quick else "")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not IDENTIFIER.fullmatch(args.database) or args.database.lower() in {
        "alx_prodev",
        load_config().database.lower(),
        "mysql",
        "information_schema",
    }:
        parser.error(f"--database {args.database!r} is not a scratch database name")
    return args


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that the scratch database is dropped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def run(args: argparse.Namespace) -> Path:
    """Measure everything and write the outputs; return the RESULTS.md path."""
    server = Server(load_config(), args.database, find_client())
    samples = Samples()
    averages = {}
    load_before = os.getloadavg()[0]
    with bench_database(server), tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        stack = worker(server, "info")
        for rows in args.rows:
            print(f"bench: {rows:,} rows ...", file=sys.stderr, flush=True)
            averages[rows] = measure_size(server, rows, args.repeat, samples, Path(workdir))
    context = {
        **machine(),
        "code": measured_code(),
        "load": load_since(load_before),
        **stack,
        "rows": list(args.rows),
        "repeat": args.repeat,
        "argv": sys.argv[1:],
    }
    return write_outputs(args.out, samples.data, averages, context)


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can act on are one line, not a traceback."""
    args = parse_args(argv)
    stop_on_sigterm()
    try:
        results = run(args)
    except (BenchError, seed.SetupError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    print(f"bench: wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What the strict fast CSV reader saves: ``seed.py`` with and without it.

For each size, a file in the sample's form (``bench/make_data.py``) is seeded
into an empty table of a scratch database by ``python3 seed.py FILE`` as
users run it, and by the same command with ``prodev.csvfile.strict_blocks``
refusing every file, so that every row goes through ``read_users`` (the
``csv`` module and ``problem()``). The two alternate, ``--repeat`` times
each; the median wall time of each process is printed, with the ratio.

Usage: ``python3 bench/strict_reader.py [--rows 200000 1000000] [--repeat 3]``
(MYSQL_* settings as for seed.py; the scratch database is dropped at the end).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from make_data import write_csv
from run import ROOT, BenchError, Server, bench_database, checked, find_client, run_process

from prodev.config import load_config

# seed.py's own main, with the strict reader refusing every file.
WITHOUT_STRICT = """
import sys, seed
from prodev import bulkload
from prodev.csvfile import NotStrict
def refuse(*args, **kwargs):
    raise NotStrict
    yield
bulkload.strict_blocks = refuse
sys.exit(seed.main(sys.argv[1:]))
"""


def seed_seconds(server: Server, csv: Path, strict: bool) -> float:
    """Wall time of one whole ``seed.py`` process into an empty table."""
    server.execute("DROP TABLE IF EXISTS user_data")
    argv = [str(ROOT / "seed.py")] if strict else ["-c", WITHOUT_STRICT]
    run = run_process([sys.executable, *argv, str(csv)], server.env)
    return checked(run, "seed.py").seconds


def spread(seconds: list[float]) -> str:
    """The runs' times, fastest first."""
    return ", ".join(f"{value:.2f}" for value in sorted(seconds))


def main(argv: list[str] | None = None) -> int:
    """Measure, and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default="bench_strict_reader")
    args = parser.parse_args(argv)
    try:
        measure(args)
    except BenchError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    return 0


def measure(args: argparse.Namespace) -> None:
    """Seed each size with and without the strict reader, alternating."""
    server = Server(load_config(), args.database, find_client())
    with bench_database(server), tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        for rows in args.rows:
            csv = Path(workdir) / f"users-{rows}.csv"
            with open(csv, "w", encoding="utf-8", newline="") as out:
                write_csv(out, rows)
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.repeat):
                for strict in (True, False):
                    times[strict].append(seed_seconds(server, csv, strict))
            fast, slow = (statistics.median(times[strict]) for strict in (True, False))
            print(
                f"{rows:,} rows: seed.py {fast:.2f} s with the strict reader, "
                f"{slow:.2f} s without ({slow / fast:.2f}x); "
                f"each run: {spread(times[True])} / {spread(times[False])}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())

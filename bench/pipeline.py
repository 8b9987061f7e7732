#!/usr/bin/env python3
"""Measure lesson 7's export against the ``mariadb`` client; write PIPELINE.md.

One command: ``python3 bench/pipeline.py`` (10k, 200k and 1M rows, three
repeats each, interleaved). Per size it seeds a scratch database of its own
(the generated users of ``bench/make_data.py``, loaded with ``LOAD DATA``;
dropped at the end, ``ALX_prodev`` is never touched), then times, each in a
fresh process writing to a file:

- ``python3 7-export_users.py --older-than 25 > file`` (its peak RSS read
  inside the process, as ``VmHWM``, since ``ru_maxrss`` carries a forking
  parent's over exec), and
- ``mariadb --quick --batch -N -e 'SELECT user_id, name, age ... WHERE age
  > 25 ORDER BY user_id' > file``: the same rows, streamed by the client.

Both files must hold the same number of lines. The median of each is
reported, with the ratio and its range over the repeats. ``--quick`` is a
tiny run (2,000 rows, one repeat) that checks the script works.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_data import write_csv
from run import (
    LOAD_CSV,
    BenchError,
    Server,
    bench_database,
    checked,
    find_client,
    parse_rows,
    run_context,
    stop_on_sigterm,
    worker,
)

import seed
from prodev.backends.mysql import TABLE_SQL as MYSQL_TABLE
from prodev.config import load_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 0
OLDER_THAN = 25
CLIENT_SQL = (
    "SELECT user_id, name, age FROM user_data "
    f"WHERE age > {OLDER_THAN} ORDER BY user_id"  # a constant of this script
)
# The lesson run as its command, reporting its own peak RSS when it exits.
EXPORT = (
    "import atexit, os, re, runpy, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    kb = re.search(r'^VmHWM:\\s+(\\d+) kB', status, re.M)[1]\n"
    "    open(os.environ['BENCH_PEAK_FILE'], 'w').write(kb)\n"
    "atexit.register(peak)\n"
    f"sys.argv = ['7-export_users.py', '--older-than', '{OLDER_THAN}']\n"
    "runpy.run_path('7-export_users.py', run_name='__main__')\n"
)


def timed_to_file(argv: list[str], env: dict[str, str], out: Path) -> float:
    """Run ``argv`` with stdout into ``out``; return its wall time in seconds.

    Anything on stderr counts as a failure: the export must print nothing
    there.
    """
    with open(out, "wb") as sink:
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        seconds = time.perf_counter() - started
    if done.returncode != 0 or done.stderr:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise BenchError(f"{argv[0]} failed (exit {done.returncode}): {lines[-1]}")
    return seconds


def line_count(path: Path) -> int:
    """Lines in ``path``, read a megabyte at a time."""
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(2**20), b""))


def seed_rows(server: Server, rows: int, workdir: Path) -> None:
    """Fill a fresh user_data with ``rows`` generated users."""
    csv = workdir / f"users-{rows}.csv"
    with open(csv, "w", encoding="utf-8", newline="") as out:
        write_csv(out, rows, SEED)
    server.execute(f"DROP TABLE IF EXISTS user_data; {MYSQL_TABLE}")
    checked(server.command(LOAD_CSV.format(path=csv), "--local-infile=1"), "LOAD DATA")
    csv.unlink()
    server.execute("ANALYZE TABLE user_data")


def measure_size(server: Server, rows: int, repeat: int, workdir: Path) -> dict:
    """The export and the client, interleaved ``repeat`` times at one size."""
    seed_rows(server, rows, workdir)
    peak_file, lesson_out, client_out = (workdir / name for name in ("peak", "lesson", "client"))
    env = {**server.env, "BENCH_PEAK_FILE": str(peak_file)}
    client = server.client_argv(CLIENT_SQL, "--quick", "--batch", "-N")
    lesson, anchor, peaks = [], [], []
    for _ in range(repeat):
        anchor.append(timed_to_file(client, server.env, client_out))
        lesson.append(timed_to_file([sys.executable, "-c", EXPORT], env, lesson_out))
        peaks.append(int(peak_file.read_text()) / 1024)
    exported, expected = line_count(lesson_out), line_count(client_out)
    if exported != expected:
        raise BenchError(
            f"{rows:,} rows: the export wrote {exported:,} lines, the client {expected:,}"
        )
    ratios = [mine / theirs for mine, theirs in zip(lesson, anchor, strict=True)]
    return {
        "rows": rows,
        "exported": exported,
        "lesson_s": statistics.median(lesson),
        "client_s": statistics.median(anchor),
        "ratio": statistics.median(lesson) / statistics.median(anchor),
        "ratio_range": (min(ratios), max(ratios)),
        "peak_mb": statistics.median(peaks),
        "peak_max_mb": max(peaks),
    }


def report(results: list[dict], context: dict, argv: list[str]) -> str:
    """PIPELINE.md: how the figures were made, then one table row per size."""
    smallest, largest = results[0], results[-1]
    growth = largest["peak_max_mb"] - smallest["peak_mb"]
    lines = [
        "# Lesson 7's export against the mariadb client",
        "",
        f"Command: `{' '.join(['python3 bench/pipeline.py', *argv])}` "
        f"({context['repeat']} repeat(s) per size, interleaved; medians).",
        f"Machine: {context['nproc']} cores ({context['cpu']}), {context['ram_gib']} GiB RAM, "
        f"{context['os']}, shared with other work (load {context['load']}).",
        f"Server: MariaDB {context['server']}; Python {context['python']}; "
        f"mysql-connector-python {context['connector']} "
        f"({'C extension' if context['c_extension'] else 'pure Python'}); "
        f"code {context['code']}; {context['date']}.",
        "",
        f"Exported: `python3 7-export_users.py --older-than {OLDER_THAN} > file`, "
        "whole process, peak RSS read as VmHWM inside it.",
        f"Anchor: `mariadb --quick --batch -N -e '{CLIENT_SQL}' > file`, the same rows "
        "(equal line counts checked).",
        "",
        "| rows in table | lines written | export (s) | client (s) | ratio (range) | peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        low, high = result["ratio_range"]
        lines.append(
            f"| {result['rows']:,} | {result['exported']:,} | {result['lesson_s']:.2f} "
            f"| {result['client_s']:.2f} | {result['ratio']:.2f}x ({low:.2f}-{high:.2f}) "
            f"| {result['peak_mb']:.1f} MB |"
        )
    lines += [
        "",
        f"Peak RSS from {smallest['rows']:,} to {largest['rows']:,} rows: "
        f"{growth:+.1f} MB (largest repeat at {largest['rows']:,} against the median at "
        f"{smallest['rows']:,}).",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """``--rows``, ``--repeat``, ``--quick``, ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=parse_rows, help="default 10000,200000,1000000")
    parser.add_argument("--repeat", type=int, help="runs per size, median reported (default 3)")
    parser.add_argument("--quick", action="store_true", help="2000 rows, one repeat")
    parser.add_argument("--out", type=Path, help="report file (default bench/results/PIPELINE.md)")
    args = parser.parse_args(argv)
    args.rows = args.rows or ((2_000,) if args.quick else (10_000, 200_000, 1_000_000))
    args.repeat = args.repeat or (1 if args.quick else 3)
    default = HERE / "results" / ("quick" if args.quick else "") / "PIPELINE.md"
    args.out = args.out or default
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can act on are one line, not a traceback."""
    args = parse_args(argv)
    stop_on_sigterm()
    server = Server(load_config(), f"bench_pipeline_{os.getpid()}", find_client())
    load_before = os.getloadavg()[0]
    try:
        with bench_database(server), tempfile.TemporaryDirectory(prefix="bench-") as workdir:
            stack = worker(server, "info")
            results = []
            for rows in args.rows:
                print(f"bench: {rows:,} rows ...", file=sys.stderr, flush=True)
                results.append(measure_size(server, rows, args.repeat, Path(workdir)))
    except (BenchError, seed.SetupError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    context = run_context(stack, load_before, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, context, sys.argv[1:] if argv is None else argv))
    print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

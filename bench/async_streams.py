#!/usr/bin/env python3
"""Measure lesson 8's async streams: a responsive event loop, the cost, the memory.

One command: ``python3 bench/async_streams.py`` (10k and 1M rows, three
repeats, MySQL then SQLite). It seeds a scratch database of its own (``bench/make_data.py``
users, ``LOAD DATA``; dropped at the end, ``ALX_prodev`` is never touched).
Each figure runs in a fresh process (this script with ``--figure``):

- ``responsive``: one task streams every row with ``async_stream_users()``
  while a second wakes every 10 ms and notes how late each wake-up is, and
  a third runs a single-row query (by primary key, on a connection of its
  own opened before the stream starts) every 50 ms and notes how long each
  answer takes. Reported: p99 and max of both.
- ``async``: the full stream alone, ``async_stream_users()``; ``sync`` and
  ``sync_pure``: the synchronous ``stream_users()`` with the C extension's
  fast path and with ``MYSQL_USE_PURE=1`` (mysql.connector.aio is pure
  Python, so the second is the same driver code path's sync twin).

The same figures then run on SQLite (a file seeded by ``seed.py``):
aiosqlite for the async stream, sqlite3 for the sync one. Peak RSS is read
inside each process (``VmHWM``). ``--quick`` is a tiny run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_data import write_csv
from pipeline import SEED, seed_rows
from run import (
    BenchError,
    Server,
    bench_database,
    find_client,
    run_context,
    worker,
)

import seed
from prodev.backends import chosen
from prodev.config import load_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TICK = 0.010  # s: the ticker's period
QUERY_EVERY = 0.050  # s: the third task's period
BOUND = 0.050  # s: the bound both must keep at p99
FIGURES = ("responsive", "async", "sync", "sync_pure")


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM) in MB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)[1]) / 1024


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (0.99: p99) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def responsive() -> dict:
    """Stream every row while a ticker and a point query measure the loop."""
    lesson = __import__("8-async_streams")
    loop = asyncio.get_running_loop()
    streams = chosen(load_config()).aio
    point = await streams.connect(load_config())
    cursor = await streams.execute(point, "SELECT user_id FROM user_data LIMIT 1")
    (probe,) = await streams.fetchmany(cursor, 1)
    lateness: list[float] = []
    answers: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        due = loop.time() + TICK
        while not done.is_set():
            await asyncio.sleep(max(0.0, due - loop.time()))
            lateness.append(loop.time() - due)
            due += TICK

    async def point_queries() -> None:
        while not done.is_set():
            await asyncio.sleep(QUERY_EVERY)
            started = loop.time()
            cursor = await streams.execute(
                point, "SELECT name FROM user_data WHERE user_id = %s", (probe["user_id"],)
            )
            assert len(await streams.fetchmany(cursor, 2)) == 1
            answers.append(loop.time() - started)

    async def stream() -> int:
        count = 0
        async for _user in lesson.async_stream_users():
            count += 1
        done.set()
        return count

    started = time.perf_counter()
    rows, *_ = await asyncio.gather(stream(), ticker(), point_queries())
    seconds = time.perf_counter() - started
    await streams.close(point)
    return {
        "rows": rows,
        "seconds": seconds,
        "ticks": len(lateness),
        "tick_p99_ms": percentile(lateness, 0.99) * 1000,
        "tick_max_ms": max(lateness) * 1000,
        "queries": len(answers),
        "query_p99_ms": percentile(answers, 0.99) * 1000 if answers else None,
        "query_max_ms": max(answers) * 1000 if answers else None,
    }


async def async_alone() -> dict:
    """The full async stream, nothing else on the loop."""
    lesson = __import__("8-async_streams")
    started = time.perf_counter()
    count = 0
    async for _user in lesson.async_stream_users():
        count += 1
    return {"rows": count, "seconds": time.perf_counter() - started}


def sync_stream() -> dict:
    """The full synchronous stream_users()."""
    lesson = __import__("0-stream_users")
    started = time.perf_counter()
    count = sum(1 for _ in lesson.stream_users())
    return {"rows": count, "seconds": time.perf_counter() - started}


def run_figure(name: str) -> dict:
    """Measure ``name`` in this process; add its peak RSS."""
    if name == "responsive":
        result = asyncio.run(responsive())
    elif name == "async":
        result = asyncio.run(async_alone())
    else:
        result = sync_stream()
    return {**result, "peak_mb": peak_rss_mb()}


def figure_in_child(env: dict[str, str], name: str) -> dict:
    """Run figure ``name`` in a fresh process and return its measurement."""
    env = {**env, **({"MYSQL_USE_PURE": "1"} if name == "sync_pure" else {})}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--figure", name],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0 or done.stderr:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise BenchError(f"{name} failed (exit {done.returncode}): {lines[-1]}")
    return json.loads(done.stdout)


def measure(env: dict[str, str], rows: int, repeat: int, figures: tuple[str, ...]) -> dict:
    """Every figure at one size, interleaved ``repeat`` times."""
    samples: dict[str, list[dict]] = {name: [] for name in figures}
    for _ in range(repeat):
        for name in figures:
            sample = figure_in_child(env, name)
            if sample["rows"] != rows:
                raise BenchError(f"{name} read {sample['rows']:,} rows of {rows:,}")
            samples[name].append(sample)
    return samples


def seed_sqlite(rows: int, workdir: Path) -> dict[str, str]:
    """A fresh SQLite file of ``rows`` generated users, seeded by seed.py; its environment."""
    csv, path = workdir / f"users-{rows}.csv", workdir / f"users-{rows}.sqlite3"
    with open(csv, "w", encoding="utf-8", newline="") as out:
        write_csv(out, rows, SEED)
    env = {**os.environ, "DB_ENGINE": "sqlite", "SQLITE_PATH": str(path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "seed.py"), str(csv)], env=env, cwd=ROOT,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    csv.unlink()
    if done.returncode != 0:
        raise BenchError(f"seeding SQLite failed: {done.stderr.strip()[-200:]}")
    return env


def median(samples: list[dict], key: str) -> float:
    """The median of ``key`` over ``samples``."""
    return statistics.median(sample[key] for sample in samples)


def report(
    results: dict[int, dict], on_sqlite: dict[int, dict], context: dict, argv: list[str]
) -> str:
    """ASYNC.md: how the figures were made, then the tables."""
    lines = [
        "# Lesson 8's async streams: loop responsiveness, cost, memory",
        "",
        f"Command: `{' '.join(['python3 bench/async_streams.py', *argv])}` "
        f"({context['repeat']} repeat(s) per size, interleaved, each in a fresh process).",
        f"Machine: {context['nproc']} cores ({context['cpu']}), {context['ram_gib']} GiB RAM, "
        f"{context['os']}, shared with other work (load {context['load']}).",
        f"Server: MariaDB {context['server']}; Python {context['python']}; "
        f"mysql-connector-python {context['connector']} (mysql.connector.aio, pure Python; "
        f"the sync stream: C extension fast path, and MYSQL_USE_PURE=1); code {context['code']}; "
        f"{context['date']}.",
        "",
        "## The event loop while one task streams every row",
        "",
        f"A ticker every {TICK * 1000:.0f} ms (how late each wake-up is) and a single-row "
        f"query every {QUERY_EVERY * 1000:.0f} ms on a connection of its own (how long each "
        f"answer takes); bound: {BOUND * 1000:.0f} ms at p99. Worst repeat shown.",
        "",
        "| rows | ticks | tick late p99 | tick late max | queries | query p99 | query max |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [responsive_row(rows, samples["responsive"]) for rows, samples in results.items()]
    lines += [
        "",
        "## Full-stream time and peak RSS (medians)",
        "",
        "| rows | async_stream_users() | stream_users(), C ext. | ratio "
        "| stream_users(), pure | ratio | async peak RSS | sync peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rows, samples in results.items():
        alone, fast, pure = (median(samples[name], "seconds") for name in FIGURES[1:])
        lines.append(
            f"| {rows:,} | {alone:.2f} s | {fast:.2f} s | {alone / fast:.1f}x "
            f"| {pure:.2f} s | {alone / pure:.1f}x "
            f"| {median(samples['async'], 'peak_mb'):.1f} MB "
            f"| {median(samples['sync'], 'peak_mb'):.1f} MB |"
        )
    lines += [
        "",
        "## SQLite (aiosqlite against sqlite3), the same figures",
        "",
        "| rows | ticks | tick late p99 | tick late max | queries | query p99 | query max |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(responsive_row(rows, samples["responsive"]) for rows, samples in on_sqlite.items()),
        "",
        "| rows | async_stream_users() | stream_users() | ratio | async peak RSS | sync peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rows, samples in on_sqlite.items():
        alone, sync = median(samples["async"], "seconds"), median(samples["sync"], "seconds")
        lines.append(
            f"| {rows:,} | {alone:.2f} s | {sync:.2f} s | {alone / sync:.1f}x "
            f"| {median(samples['async'], 'peak_mb'):.1f} MB "
            f"| {median(samples['sync'], 'peak_mb'):.1f} MB |"
        )
    return "\n".join([*lines, ""])


def responsive_row(rows: int, runs: list[dict]) -> str:
    """One row of a responsiveness table: the worst repeat's figures."""
    worst = max(runs, key=lambda run: run["tick_p99_ms"])
    query_p99 = max(run["query_p99_ms"] or 0 for run in runs)
    query_max = max(run["query_max_ms"] or 0 for run in runs)
    return (
        f"| {rows:,} | {worst['ticks']:,} | {worst['tick_p99_ms']:.1f} ms "
        f"| {max(run['tick_max_ms'] for run in runs):.1f} ms "
        f"| {sum(run['queries'] for run in runs):,} | {query_p99:.1f} ms "
        f"| {query_max:.1f} ms |"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """``--rows``, ``--repeat``, ``--quick``, ``--out``; ``--figure`` is the child's."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", help="sizes, comma-separated (default 10000,1000000)")
    parser.add_argument("--repeat", type=int, help="runs per size (default 3)")
    parser.add_argument("--quick", action="store_true", help="2000 rows, one repeat")
    parser.add_argument("--out", type=Path, help="report (default bench/results/ASYNC.md)")
    parser.add_argument("--figure", choices=FIGURES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    default_rows = "2000" if args.quick else "10000,1000000"
    args.rows = [int(size) for size in (args.rows or default_rows).split(",")]
    args.repeat = args.repeat or (1 if args.quick else 3)
    folder = HERE / "results" / ("quick" if args.quick else "")
    args.out = args.out or folder / "ASYNC.md"
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: errors the user can act on are one line, not a traceback."""
    args = parse_args(argv)
    if args.figure:
        print(json.dumps(run_figure(args.figure)))
        return 0
    server = Server(load_config(), f"bench_async_{os.getpid()}", find_client())
    load_before = os.getloadavg()[0]
    results, on_sqlite = {}, {}
    try:
        with bench_database(server), tempfile.TemporaryDirectory(prefix="bench-") as workdir:
            stack = worker(server, "info")
            for rows in args.rows:
                print(f"bench: MySQL, {rows:,} rows ...", file=sys.stderr, flush=True)
                seed_rows(server, rows, Path(workdir))
                results[rows] = measure(server.env, rows, args.repeat, FIGURES)
            for rows in args.rows:
                print(f"bench: SQLite, {rows:,} rows ...", file=sys.stderr, flush=True)
                env = seed_sqlite(rows, Path(workdir))
                on_sqlite[rows] = measure(env, rows, args.repeat, FIGURES[:3])
    except (BenchError, seed.SetupError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    context = run_context(stack, load_before, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, on_sqlite, context, sys.argv[1:] if argv is None else argv))
    print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

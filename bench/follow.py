#!/usr/bin/env python3
"""Figures for following user_data live (6-follow_users.py).

Measures, and writes as markdown to bench/results/FOLLOW.md (``--out``):

- latency from commit to yield, p50/p99/max, at ``--rates`` inserts per
  second (default 100 and 5,000) for ``--seconds`` each: a producer process
  (``python3 -m prodev.produce --timestamps``) notes the time.monotonic()
  after each commit, this process notes when follow_positions() yields each
  user (CLOCK_MONOTONIC is one clock for every process on Linux);
- the highest sustained rate: ``--sustain`` rates for ``--sustain-seconds``
  each; a rate is kept up with when the producer reached 95 % of it and the
  follower's p99 lag over the last third of the run is under 1 s (a follower
  that falls behind sees its lag grow for the whole run);
- idle CPU: a follower process that receives nothing for ``--idle`` seconds,
  its user+system CPU time from /proc;
- seeding cost of the trigger: ``seed.py`` of ``--seed-rows`` generated
  users into an empty table without, then with, the trigger in place, and
  the time a follower then takes to position those entries.

Single server: the database is one of the benchmark's own on the server that
MYSQL_HOST/MYSQL_PORT name (default 127.0.0.1:3306), dropped at the end.
``--cluster PORT1,PORT2,PORT3``: a running Galera cluster (``scripts/cluster
start``), written through the first node and followed through the second.
``--engine sqlite`` uses a temporary SQLite file instead.

Usage: ``python3 bench/follow.py [--rates 100,5000] [--seconds 20] ...``
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mysql.connector  # noqa: E402

import seed  # noqa: E402
from prodev import follow  # noqa: E402
from prodev.produce import INSERT, synthetic_user  # noqa: E402

DATABASE = f"bench_follow_{os.getpid()}"
lesson = importlib.import_module("6-follow_users")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Run:
    """One producer run against one follower."""

    rate: float
    seconds: float
    produced: int
    achieved: float  # inserts per second the producer reached
    latencies: list[float]  # seconds from commit to yield, in commit order

    def thirds(self) -> tuple[list[float], list[float]]:
        third = max(1, len(self.latencies) // 3)
        return self.latencies[:third], self.latencies[-third:]

    @property
    def kept_up(self) -> bool:
        last = self.thirds()[1]
        return (
            len(self.latencies) == self.produced
            and self.achieved >= 0.95 * self.rate
            and percentile(last, 0.99) < 1.0
        )

    def row(self) -> str:
        ms = [1000 * value for value in self.latencies] or [float("nan")]
        first, last = self.thirds()
        return (
            f"| {self.rate:,.0f} | {self.seconds:.0f} | {self.achieved:,.0f} | "
            f"{len(self.latencies):,}/{self.produced:,} | {statistics.median(ms):.1f} | "
            f"{percentile(ms, 0.99):.1f} | {max(ms):.1f} | "
            f"{1000 * percentile(first, 0.99):.1f} → {1000 * percentile(last, 0.99):.1f} | "
            f"{'yes' if self.kept_up else 'no'} |"
        )


HEADER = (
    "| rate (/s) | s | reached (/s) | yielded | p50 ms | p99 ms | max ms "
    "| p99 first → last third | kept up |\n|---|---|---|---|---|---|---|---|---|"
)


def follow_run(rate: float, seconds: float, env: dict[str, str]) -> Run:
    """Produce at ``rate`` in another process while this one follows; match by e-mail."""
    expected = round(rate * seconds)  # what the producer inserts unless it fails
    start = follow.now()
    yielded: dict[str, float] = {}
    with tempfile.TemporaryFile("w+") as out:
        command = [sys.executable, "-m", "prodev.produce", "--rate", str(rate)]
        producer = subprocess.Popen(
            [*command, "--for", str(seconds), "--timestamps"], cwd=ROOT, env=env, stdout=out
        )
        threading.Thread(target=stop_if_failed, args=(producer,), daemon=True).start()
        for _position, user in islice(lesson.follow_positions(start), expected):
            yielded[user["email"]] = time.monotonic()
        producer.wait()
        out.seek(0)
        lines = out.read().splitlines()
    commits = [(float(when), email) for when, email in (line.split("\t") for line in lines[:-1])]
    span = commits[-1][0] - commits[0][0] if len(commits) > 1 else seconds
    latencies = [yielded[email] - when for when, email in commits if email in yielded]
    return Run(rate, seconds, len(commits), len(commits) / max(span, 1e-9), latencies)


def stop_if_failed(producer: subprocess.Popen[bytes]) -> None:
    """Interrupt the follower (SIGINT) if the producer fails: nothing more would come."""
    if producer.wait():
        os.kill(os.getpid(), signal.SIGINT)


def idle_cpu(seconds: float) -> float:
    """CPU seconds this process spends in ``seconds`` while a follower thread waits.

    Nothing else runs meanwhile (the main thread sleeps), so the process's
    CPU time is the follower's. One user then wakes it up and it ends.
    """
    start = follow.now()
    follower = threading.Thread(target=lambda: next(lesson.follow_users(start)))
    follower.start()
    time.sleep(1)  # connected and waiting
    before = time.process_time()
    time.sleep(seconds)
    spent = time.process_time() - before
    with seed.prodev_connection() as connection:
        connection.cursor().execute(INSERT, synthetic_user("wake", 0))
        connection.commit()
    follower.join()
    return spent


def seed_seconds(csv: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "seed.py", str(csv)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def seeding_cost(rows: int, env: dict[str, str], workdir: Path) -> list[str]:
    """Seed ``rows`` users without, then with, the trigger; then position them."""
    csv = workdir / "users.csv"
    subprocess.run(
        [sys.executable, "bench/make_data.py", "--rows", str(rows), "--out", str(csv)],
        cwd=ROOT,
        check=True,
    )
    lines = []
    for trigger in (False, True):
        with seed.prodev_connection() as connection:
            follow.remove(connection)
            connection.cursor().execute("DROP TABLE IF EXISTS user_data")
            connection.commit()
            with open(os.devnull, "w") as quiet:
                stdout, sys.stdout = sys.stdout, quiet
                seed.create_table(connection)
                sys.stdout = stdout
            if trigger:
                follow.set_up(connection)
        took = seed_seconds(csv, env)
        lines.append(
            f"| seed.py, {rows:,} rows, {'with' if trigger else 'without'} the trigger "
            f"| {took:.2f} s |"
        )
    started = time.monotonic()
    follow.now()
    lines.append(
        f"| a follower's first look: position those {rows:,} entries "
        f"| {time.monotonic() - started:.2f} s |"
    )
    return lines


def database_env(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    """Settings for the benchmark's own database, set in os.environ too."""
    host, port = os.environ.get("MYSQL_HOST", "127.0.0.1"), os.environ.get("MYSQL_PORT", "3306")
    settings = {
        "DB_ENGINE": args.engine,
        "MYSQL_DATABASE": DATABASE,
        "MYSQL_HOSTS": "",
        "MYSQL_HOST": host,
        "MYSQL_PORT": port,
        "SQLITE_PATH": str(workdir / "follow.sqlite3"),
    }
    if args.cluster:
        ports = args.cluster.split(",")
        settings |= {"MYSQL_HOSTS": ",".join(f"127.0.0.1:{p}" for p in ports[1:] + ports[:1])}
    os.environ.update(settings)
    return {**os.environ}


def writer_env(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """The producer writes through the cluster's first node, the follower reads another."""
    if not args.cluster:
        return env
    return {**env, "MYSQL_HOSTS": f"127.0.0.1:{args.cluster.split(',')[0]}"}


def drop_database(args: argparse.Namespace) -> None:
    if args.engine == "sqlite":
        return
    hosts = args.cluster.split(",")[:1] if args.cluster else [os.environ["MYSQL_PORT"]]
    connection = mysql.connector.connect(
        host="127.0.0.1",
        port=int(hosts[0]),
        user="root",
        password=os.environ.get("MYSQL_PASSWORD", ""),
    )
    connection.cursor().execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    connection.close()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("mysql", "sqlite"), default="mysql")
    parser.add_argument("--cluster", help="client ports of a running cluster: P1,P2,P3")
    parser.add_argument("--rates", default="100,5000")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sustain", default="", help="rates to try for the sustained figure")
    parser.add_argument("--sustain-seconds", type=float, default=60)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--seed-rows", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/FOLLOW.md")
    args = parser.parse_args(argv)
    where = (
        f"Galera cluster, written through port {args.cluster.split(',')[0]}, followed "
        f"through port {args.cluster.split(',')[1]}"
        if args.cluster
        else "SQLite file"
        if args.engine == "sqlite"
        else "single MariaDB server, binary log off"
    )
    report: list[str] = []

    def add(*lines: str) -> None:
        """Keep lines for the results file and show them as they come."""
        report.extend(lines)
        print("\n".join(lines), flush=True)

    add(f"## {where}", "", f"Load average at start: {load_average()}", "")
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        env = database_env(args, workdir)
        try:
            seed.seed(seed.DEFAULT_CSV)  # the database and table, with the sample users
            if args.seed_rows:
                add("| seeding | time |", "|---|---|", *seeding_cost(args.seed_rows, env, workdir))
                add("")
            if args.rates:
                add(f"Latency, commit to yield ({args.seconds:.0f} s a rate):", "", HEADER)
                for rate in args.rates.split(","):
                    add(follow_run(float(rate), args.seconds, writer_env(args, env)).row())
                add("")
            if args.sustain:
                add(f"Sustained ({args.sustain_seconds:.0f} s a rate):", "", HEADER)
                kept = []
                for rate in args.sustain.split(","):
                    run = follow_run(float(rate), args.sustain_seconds, writer_env(args, env))
                    add(run.row())
                    kept += [run.rate] if run.kept_up else []
                best = (
                    f"{max(kept):,.0f}/s"
                    if kept
                    else "none (see 'reached': the producer fell short)"
                )
                add("", f"Highest rate kept up with: {best}", "")
            if args.idle:
                cpu = idle_cpu(args.idle)
                add(
                    f"Idle follower: {cpu:.2f} CPU s in {args.idle:.0f} s "
                    f"({cpu * 60 / args.idle:.2f} CPU s a minute)",
                    "",
                )
        finally:
            drop_database(args)
    add(f"Load average at end: {load_average()}", "")
    with open(args.out, "a") as out:
        out.write("\n".join(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Speed in every compatibility environment: the stream and the average against anchors.

One command: ``.venv/bin/python bench/compat.py`` (200,000 rows, 5 repeats,
the environments of ``tests/support/venvs.py``). Each environment is a fresh
venv with only ``mysql-connector-python==X`` and python-dotenv, built in a
temporary folder for this run; a copy of the project (``--project``, default
this repository) runs there. Per environment and repeat, one process
(``tests/support/compat_child.py``) measures, in this order, on the same
rows of one scratch database:

- the driver's own ``cursor(dictionary=True)`` over the stream's query, on a
  plain connection with the same server, credentials, charset and use_pure;
- ``stream_users()`` read to the end, then ``islice(stream_users(), 6)``;
- the driver's plain ``cursor()`` summing ``SELECT age``;
- ``calculate_average_age()``;
- ``SELECT AVG(age)`` (in-process, connection included).

Beside it, ``mariadb --quick --batch`` writes the stream's rows to
/dev/null (whole process). The best of the repeats is kept; environments are
interleaved within each repeat, so drift on the shared machine hits all
alike. Results go to ``bench/results/COMPAT.md``. The scratch database is
created at the start and dropped at the end; ``ALX_prodev`` is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_data import write_csv
from run import (
    LOAD_CSV,
    MEASURED_FILES,
    BenchError,
    Server,
    bench_database,
    checked,
    find_client,
    load_since,
    machine,
    run_process,
    stop_on_sigterm,
)

from prodev.backends.mysql import TABLE_SQL as MYSQL_TABLE
from prodev.config import IDENTIFIER, load_config
from tests.support.venvs import (
    ROOT,
    BuildError,
    Environment,
    build_all,
    copy_project,
    env_settings,
    selected_environments,
)

HERE = Path(__file__).resolve().parent
CHILD = ROOT / "tests" / "support" / "compat_child.py"
FIGURES = ("info", "dict_cursor", "early_stop", "plain_ages", "ages", "avg_sql")
READ_ALL = "SELECT user_id, name, email, age FROM user_data ORDER BY user_id"
# Targets: the project's stream over the driver's own dict cursor on the public
# path; where the fast path engages, over the client and over AVG(age).
PUBLIC_STREAM, FAST_STREAM, FAST_AVERAGE, EARLY_STOP = 1.10, 2.0, 3.0, 0.10


def child_env(server: Server, environment: Environment) -> dict[str, str]:
    """What the child needs: the run's database, this environment's MYSQL_USE_PURE."""
    keys = ("DB_ENGINE", "MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD",
            "MYSQL_DATABASE")
    return env_settings(environment, {key: server.env[key] for key in keys})


def path_in_use(python: Path, project: Path, env: dict[str, str]) -> str:
    """The project's own line saying which path serves (``main.py --version``)."""
    done = subprocess.run([str(python), "main.py", "--version"], cwd=project, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return "unknown (main.py --version failed)"
    return lines[-1]


def measure(python: Path, project: Path, env: dict[str, str]) -> dict:
    """One repeat of every figure, in one fresh process of the environment."""
    done = subprocess.run([str(python), str(CHILD), *FIGURES], cwd=project, env=env,
                          capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise BenchError(lines[-1])
    return json.loads(done.stdout)


def fill(server: Server, rows: int, workdir: Path) -> None:
    """``rows`` users of bench/make_data.py in the scratch table."""
    csv = workdir / f"users-{rows}.csv"
    with open(csv, "w", encoding="utf-8", newline="") as out:
        write_csv(out, rows)
    server.execute(f"DROP TABLE IF EXISTS user_data; {MYSQL_TABLE}")
    checked(server.command(LOAD_CSV.format(path=csv), "--local-infile=1"), "LOAD DATA")
    csv.unlink()


def best(samples: list[dict], *path: str) -> float:
    """The least of ``sample[path[0]][path[1]]...`` over the repeats.

    On a shared machine other work only ever adds time, so the best of the
    repeats is the steadiest estimate of what the code itself costs.
    """
    return min(value(sample, path) for sample in samples)


def value(sample: dict, path: tuple[str, ...]) -> float:
    """``sample[path[0]][path[1]]...``."""
    for key in path:
        sample = sample[key]
    return float(sample)  # type: ignore[arg-type]


def ratio(
    samples: list[dict], top: tuple[str, ...], bottom: tuple[str, ...], digits: int = 2
) -> Ratio:
    """Best ``top`` over best ``bottom``, and the range of the repeats' own ratios."""
    ratios = [value(sample, top) / value(sample, bottom) for sample in samples]
    return Ratio(best(samples, *top) / best(samples, *bottom), min(ratios), max(ratios), digits)


@dataclass
class Ratio:
    """A figure over its anchor (best over best), and its lowest and highest in one repeat."""

    value: float
    low: float
    high: float
    digits: int = 2

    def __str__(self) -> str:
        d = self.digits
        return f"{self.value:.{d}f}x ({self.low:.{d}f}-{self.high:.{d}f})"


def verdict(measured: Ratio, limit: float) -> str:
    """``1.23x (1.10-1.40) met`` or ``... **missed**``, on the best-over-best ratio."""
    return f"{measured} {'met' if measured.value <= limit else '**missed**'}"


def row(environment: Environment, samples: list[dict], path: str) -> str:
    """One table line: best times, ratios, the targets of the path in use."""
    info = samples[0]["info"]
    stream = ("early_stop", "full_seconds")
    ages, avg = ("ages", "seconds"), ("avg_sql", "seconds")
    fast = "fast path" in path
    implementation = "C extension" if info["c_extension_in_use"] else "pure Python"
    to_plain = ratio(samples, stream, ("dict_cursor", "seconds"))
    to_client = ratio(samples, stream, ("client",))
    to_avg = ratio(samples, ages, avg)
    cells = [
        environment.name,
        f"{info['driver']}, {implementation} (`{info['connection_class']}`)",
        path,
        *(f"{best(samples, *figure):.3f} s" for figure in (
            stream, ("dict_cursor", "seconds"), ("client",), ages, ("plain_ages", "seconds"), avg
        )),
        str(to_plain) if fast else verdict(to_plain, PUBLIC_STREAM),
        verdict(to_client, FAST_STREAM) if fast else str(to_client),
        verdict(to_avg, FAST_AVERAGE) if fast else str(to_avg),
        str(ratio(samples, ages, ("plain_ages", "seconds"))),
        verdict(ratio(samples, ("early_stop", "early_seconds"), stream, digits=3), EARLY_STOP),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| environment | driver (connection class) | path (`main.py --version`) | stream | "
    "driver dict cursor | `mariadb --quick --batch` | average | driver plain cursor sum | "
    "`SELECT AVG(age)` | stream / dict cursor | stream / client | average / AVG | "
    "average / plain sum | 6 rows / stream |\n" + "| --- " * 14 + "|"
)


def report(args: argparse.Namespace, context: dict, lines: list[str], failures: list[str]) -> str:
    """COMPAT.md's text."""
    m = context["machine"]
    return "\n".join([
        "# Speed per compatibility environment",
        "",
        f"Produced by `{' '.join(['.venv/bin/python bench/compat.py', *context['argv']])}`"
        f" ({args.rows:,} rows, best of {args.repeat} repeat(s); each environment a fresh venv"
        " with only mysql-connector-python and python-dotenv).",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']};"
        " shared with other work while measured",
        f"- Server: {context['server']}",
        f"- Project measured: {context['project']} at {context['code']}",
        f"- Date: {m['date']}; load average {context['load']}",
        "",
        "Stream, driver dict cursor, average, plain cursor sum and `SELECT AVG(age)` are"
        " in-process times (connection included, imports not), the best of the repeats (other"
        " work on the machine only adds time); the"
        " driver's cursors run on a plain connection with the project's server, credentials,"
        " charset and implementation (C or pure Python, as the project's connection is); the"
        " client is its whole process writing the same rows to /dev/null, run just before each"
        " environment's measurement. A ratio is best time over best time; in brackets the lowest"
        " and highest ratio of one repeat to the anchor measured next to it."
        " The path column is the project's own"
        " `python3 main.py --version` line in that environment. Targets: on the public path"
        f" the stream at most {PUBLIC_STREAM:.2f}x the driver's dict cursor; where the fast path"
        f" engages, the stream at most {FAST_STREAM:g}x the client and the average at most"
        f" {FAST_AVERAGE:g}x `SELECT AVG(age)`; everywhere, taking 6 rows (connection included,"
        f" best of 3) under {EARLY_STOP:g} of the full stream.",
        "",
        HEADER,
        *lines,
        "",
        *(["Not measured:", "", *(f"- {failure}" for failure in failures), ""] if failures else []),
    ]) + "\n"


def project_code(project: Path) -> str:
    """The checkout's commit, marked when its measured files differ from it."""
    git = ["git", "-C", str(project)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", *MEASURED_FILES, "main.py",
         ":(exclude)bench/results"],
        capture_output=True, text=True,
    ).stdout.strip()
    return f"commit {head.stdout.strip()}" + (" + uncommitted changes" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows (default 200000)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats, best kept (default 5)")
    parser.add_argument("--project", type=Path, default=ROOT,
                        help="the checkout to measure (default: this repository)")
    parser.add_argument("--only", default="", help="environment names, comma-separated")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "COMPAT.md")
    parser.add_argument("--database", default=f"bench_compat_{os.getpid()}",
                        help="scratch database")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    if not IDENTIFIER.fullmatch(args.database) or not args.database.startswith("bench_"):
        parser.error(f"--database {args.database!r} must be a scratch name starting bench_")
    return args


def run(args: argparse.Namespace) -> Path:
    """Build, measure, write; return the report's path."""
    server = Server(load_config(), args.database, find_client())
    wanted = {name for name in args.only.split(",") if name}
    environments = [env for env in selected_environments() if not wanted or env.name in wanted]
    load_before = os.getloadavg()[0]
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="compat-bench-") as folder, bench_database(server):
        workdir = Path(folder)
        print(f"compat: building {len(environments)} venvs ...", file=sys.stderr, flush=True)
        venvs = build_all(environments, workdir / "venvs")
        project = copy_project(workdir / "project", args.project.resolve())
        ready = {}
        for environment, python in venvs.items():
            if isinstance(python, BuildError):
                failures.append(f"{environment.name}: {python}")
            else:
                ready[environment] = python
        print(f"compat: {args.rows:,} rows ...", file=sys.stderr, flush=True)
        fill(server, args.rows, workdir)
        samples: dict[Environment, list[dict]] = {env: [] for env in ready}
        for repeat in range(args.repeat):
            for environment, python in ready.items():
                if environment.name in failed_names(failures):
                    continue
                print(f"compat: repeat {repeat + 1}: {environment.name}", file=sys.stderr,
                      flush=True)
                client = run_process(server.client_argv(READ_ALL, "--quick", "--batch", "-N"),
                                     server.env, keep_stdout=False)
                try:
                    sample = measure(python, project, child_env(server, environment))
                except BenchError as error:
                    failures.append(f"{environment.name}: {error}")
                    continue
                sample["client"] = checked(client, "client read").seconds
                values = {sample[name]["value"] for name in ("ages", "plain_ages", "avg_sql")}
                if len(values) != 1:
                    failures.append(f"{environment.name}: averages differ: {sorted(values)}")
                    continue
                samples[environment].append(sample)
        paths = {env: path_in_use(python, project, child_env(server, env))
                 for env, python in ready.items()}
        info = server.execute("SELECT VERSION()")
    lines = [row(env, got, paths[env]) for env, got in samples.items()
             if got and env.name not in failed_names(failures)]
    context = {
        "machine": machine(),
        "server": info,
        "project": args.project.resolve(),
        "code": project_code(args.project.resolve()),
        "load": load_since(load_before),
        "argv": sys.argv[1:],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(args, context, lines, failures))
    return args.out


def failed_names(failures: list[str]) -> set[str]:
    """Environments already given up on (each failure line starts with its name)."""
    return {failure.split(":", 1)[0] for failure in failures}


def main(argv: list[str] | None = None) -> int:
    """Entry point: a failure that ends the run is one line."""
    args = parse_args(argv)
    stop_on_sigterm()
    try:
        out = run(args)
    except BenchError as error:
        print(f"compat: error: {error}", file=sys.stderr)
        return 1
    print(f"compat: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

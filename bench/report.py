"""Turn the benchmark's samples into RESULTS.md, results.json and PNG plots.

``write_outputs`` is called by ``bench/run.py``. Every figure is the median
of its repeats; every comparison is a ratio to an anchor of the same run.
Speed targets are the project's, judged at every size of 200,000 rows
or more (at the largest size in a smaller run), each with the range of its
per-repeat ratios (repeats are interleaved, so repeat i of a figure ran next
to repeat i of its anchor); memory growth is from the smallest size.
"""

import importlib.util
import json
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

MB = 1024  # ru_maxrss is in KiB on Linux
OFFSET_MAX_ROWS = 100_000  # the OFFSET walk is quadratic: contrast only up to here
MEMORY_PATTERNS = ("stream", "batches", "pages", "ages")
LABELS = {
    "client_read": "`mariadb --quick` full read",
    "stream": "`stream_users()` full read",
    "batches": "`stream_users_in_batches(1000)`",
    "pages": "`lazy_paginate(1000)` (OFFSET)",
    "ages": "`calculate_average_age()`",
    "avg_sql": "`SELECT AVG(age)`",
    "ages_process": "`python3 4-stream_ages.py` (whole process)",
    "avg_client": "`mariadb -e 'SELECT AVG(age) ...'` (whole process)",
    "python_start": "`python3 -c 'import seed'` (process start)",
    "client_start": "`mariadb -e 'SELECT 1'` (process start)",
    "fetchall": "`fetchall()` of user dicts",
    "take6": "`islice(stream_users(), 6)`, exit",
    "keyset": "keyset walk, pages of 100",
    "offset": "OFFSET walk, pages of 100",
    "seed": "`python3 seed.py big.csv`",
    "load_data": "raw `LOAD DATA LOCAL INFILE`",
}
ANCHORS = ("client_read", "avg_sql", "avg_client", "load_data")  # drawn dashed in the plots
ANCHOR_LABELS = {LABELS[name].replace("`", "") for name in ANCHORS}
TIME_KEY = {"take6": "wall"}  # the early stop is judged as a whole process
SPEED_FROM = 200_000  # speed targets are judged at every size from here up

Samples = dict[str, dict[int, list[dict]]]


@dataclass
class Target:
    """One line of the targets table."""

    figure: str
    anchor: str
    measured: str
    target: str
    met: bool | None  # None: a contrast, with no target

    @property
    def verdict(self) -> str:
        """``met``, ``missed`` or ``contrast``."""
        return "contrast" if self.met is None else ("met" if self.met else "**missed**")


# ------------------------------------------------------------------ statistics


def seconds(samples: Samples, name: str, rows: int) -> float:
    """Median time of figure ``name`` at ``rows`` rows."""
    key = TIME_KEY.get(name, "seconds")
    return statistics.median(sample[key] for sample in samples[name][rows])


def rss_mb(samples: Samples, name: str, rows: int) -> float | None:
    """Median peak RSS of figure ``name`` at ``rows`` rows in MiB; None for commands."""
    peaks = [sample["peak_rss_kb"] for sample in samples[name][rows] if "peak_rss_kb" in sample]
    return statistics.median(peaks) / MB if peaks else None


def tail_ratio(latencies: list[float]) -> float:
    """Time of the last 1% of pages over the first 1%.

    Page 0 also opens the connection, so the first window starts at page 1.
    """
    if len(latencies) < 2:
        return math.nan
    window = max(1, len(latencies) // 100)
    return sum(latencies[-window:]) / sum(latencies[1 : 1 + window])


def walk_ratio(samples: Samples, name: str, rows: int) -> float:
    """Median over repeats of ``tail_ratio`` for walk ``name``."""
    return statistics.median(tail_ratio(sample["latencies"]) for sample in samples[name][rows])


def exact(value: str, server: str) -> bool:
    """True if ``value`` rounds to ``server`` at the server's last digit."""
    reference = Decimal(server)
    return Decimal(value).quantize(reference, rounding=ROUND_HALF_UP) == reference


# ------------------------------------------------------------------- targets


def ratio_target(
    samples: Samples,
    name: str,
    anchor: str,
    rows: int,
    limit: float,
    anchor_rows: int | None = None,
    stretch: float | None = None,
) -> Target:
    """Median time of ``name`` over its anchor's, judged against ``limit``.

    A ``stretch`` target, tighter than ``limit``, is reported on the same line.
    """
    ratio = seconds(samples, name, rows) / seconds(samples, anchor, anchor_rows or rows)
    key, anchor_key = TIME_KEY.get(name, "seconds"), TIME_KEY.get(anchor, "seconds")
    pairs = zip(samples[name][rows], samples[anchor][anchor_rows or rows], strict=False)
    each = [run[key] / other[anchor_key] for run, other in pairs]
    where = f" at {anchor_rows:,} rows" if anchor_rows else ""
    return Target(
        f"{LABELS[name]}, {rows:,} rows",
        f"{LABELS[anchor]}{where}",
        f"{ratio:.2f}x ({min(each):.2f}-{max(each):.2f})",
        f"at most {limit:g}x"
        + (f"; stretch {stretch:g}x: {'met' if ratio <= stretch else 'missed'}" if stretch else ""),
        ratio <= limit,
    )


def memory_target(samples: Samples, name: str, small: int, big: int, limit: float | None) -> Target:
    """Growth of peak RSS from ``small`` to ``big`` rows; ``limit`` None for a contrast."""
    before, after = rss_mb(samples, name, small), rss_mb(samples, name, big)
    growth = round(after - before, 1) + 0.0  # + 0.0: never "-0.0 MB"
    return Target(
        f"peak RSS, {LABELS[name]}",
        f"same at {small:,} rows",
        f"{growth:+.1f} MB ({before:.1f} → {after:.1f} MB at {big:,})",
        "contrast" if limit is None else f"at most +{limit:g} MB",
        None if limit is None else growth <= limit,
    )


def early_stop_target(samples: Samples, small: int, big: int) -> Target:
    """``islice(stream_users(), 6)`` at ``big`` rows against ``small``, stderr empty."""
    ratio = seconds(samples, "take6", big) / seconds(samples, "take6", small)
    noisy = sum(bool(s["stderr"]) for rows in samples["take6"].values() for s in rows)
    return Target(
        f"{LABELS['take6']}, {big:,} rows (process wall time)",
        f"same at {small:,} rows",
        f"{ratio:.2f}x, stderr {'empty' if not noisy else f'NOT empty in {noisy} runs'}",
        "at most 1.5x, stderr empty",
        ratio <= 1.5 and not noisy,
    )


def keyset_target(samples: Samples, big: int) -> Target:
    """The keyset walk's last 1% of pages against its own first 1%."""
    ratio = walk_ratio(samples, "keyset", big)
    return Target(
        f"{LABELS['keyset']}, {big:,} rows: last 1% of pages",
        "its own first 1% of pages",
        f"{ratio:.2f}x",
        "at most 2x",
        ratio <= 2,
    )


def offset_contrast(samples: Samples) -> list[Target]:
    """The OFFSET walk at the largest size it ran (100k in a full run)."""
    sizes = [rows for rows in samples.get("offset", {}) if rows <= OFFSET_MAX_ROWS]
    if not sizes:
        return []
    rows = max(sizes)
    total = seconds(samples, "offset", rows) / seconds(samples, "keyset", rows)
    return [
        Target(
            f"{LABELS['offset']}, {rows:,} rows",
            f"keyset walk at {rows:,} rows; its own first 1%",
            f"{total:.1f}x the keyset walk ({seconds(samples, 'offset', rows):.2f} s); "
            f"last 1% {walk_ratio(samples, 'offset', rows):.1f}x first 1%",
            "contrast",
            None,
        )
    ]


def exact_target(samples: Samples, averages: dict[int, str]) -> Target:
    """``calculate_average_age()`` equals ``SUM(age)/COUNT(*)`` at every size."""
    checks = [
        (sample["value"], averages[rows])
        for rows, runs in samples["ages"].items()
        for sample in runs
    ]
    wrong = [f"{value} vs {server}" for value, server in checks if not exact(value, server)]
    shown = ", ".join(f"{rows:,}: {averages[rows]}" for rows in sorted(averages))
    return Target(
        f"{LABELS['ages']} value, every size and run",
        "server `SUM(age)/COUNT(*)`",
        "equal (" + shown + ")" if not wrong else "DIFFERENT: " + "; ".join(wrong[:3]),
        "equal to its last digit",
        not wrong,
    )


def targets(samples: Samples, averages: dict[int, str]) -> list[Target]:
    """Every line of the targets table, in its documented order."""
    sizes = sorted(samples["stream"])
    small, big = sizes[0], sizes[-1]
    judged = [rows for rows in sizes if rows >= SPEED_FROM] or [big]
    memory = [memory_target(samples, name, small, big, 10) for name in MEMORY_PATTERNS]
    return [
        *(ratio_target(samples, "stream", "client_read", rows, 3) for rows in judged),
        *memory,
        memory_target(samples, "fetchall", small, big, None),
        early_stop_target(samples, small, big),
        *(ratio_target(samples, "seed", "load_data", rows, 2, stretch=1.5) for rows in judged),
        keyset_target(samples, big),
        *offset_contrast(samples),
        *(ratio_target(samples, "ages", "avg_sql", rows, 4) for rows in judged),
        *(ratio_target(samples, "ages_process", "avg_client", rows, 4) for rows in judged),
        start_contrast(samples, big),
        exact_target(samples, averages),
    ]


def start_contrast(samples: Samples, rows: int) -> Target:
    """What starting a Python process that imports seed costs, against the client's start."""
    python, client = seconds(samples, "python_start", rows), seconds(samples, "client_start", rows)
    return Target(
        LABELS["python_start"],
        LABELS["client_start"],
        f"{python:.3f} s against {client:.3f} s: {python - client:+.3f} s per whole process",
        "contrast",
        None,
    )


# ------------------------------------------------------------------ markdown


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def targets_table(lines: list[Target]) -> str:
    """The targets table of RESULTS.md."""
    rows = [[t.figure, t.anchor, t.measured, t.target, t.verdict] for t in lines]
    return table(["figure", "anchor (same run)", "measured", "target", "result"], rows)


def medians_table(samples: Samples) -> str:
    """Median time and peak RSS of every figure at every size."""
    sizes = sorted({rows for runs in samples.values() for rows in runs})
    rows = [
        [LABELS[name], *(cell(samples, name, size) for size in sizes)]
        for name in LABELS
        if name in samples
    ]
    return table(["figure", *(f"{size:,} rows" for size in sizes)], rows)


def cell(samples: Samples, name: str, rows: int) -> str:
    """``1.234 s, 25.1 MB`` (time only for commands), or a dash if not run at that size."""
    if rows not in samples[name]:
        return "-"
    peak = rss_mb(samples, name, rows)
    return f"{seconds(samples, name, rows):.3f} s" + ("" if peak is None else f", {peak:.1f} MB")


def markdown(lines: list[Target], samples: Samples, context: dict) -> str:
    """The whole of RESULTS.md."""
    command = " ".join(["python3 bench/run.py", *context["argv"]])
    sizes = ", ".join(f"{rows:,}" for rows in context["rows"])
    driver = "C extension" if context["c_extension"] else "pure Python"
    connector = f"{context['connector']} ({driver}: `{context['connection_class']}`)"
    return f"""# Benchmark results

Produced by `{command}`: sizes {sizes} rows, {context["repeat"]} repeat(s)
of each figure, each in a fresh process, median reported.

- Machine: {context["nproc"]} CPUs ({context["cpu"]}), {context["ram_gib"]} GiB RAM, {context["os"]}
- Python {context["python"]}, mysql-connector-python {connector}
- Server: {context["server"]}
- Code: commit {context["code"]}
- Load average (1 min) on the machine: {context["load"]} (other work on a shared
  machine or server shows here; the ratios to same-run anchors absorb only part of it)
- Date: {context["date"]}

## Targets

Measured: the median time of the figure over the median of its anchor, and
in brackets the lowest and highest ratio of one repeat to the anchor's repeat
run next to it.

{targets_table(lines)}

## Medians (time, peak RSS of the process)

{medians_table(samples)}

Python figures are timed inside a fresh `bench/worker.py` process around the
call (imports excluded; the connection is opened by the call); commands
(`mariadb`, `seed.py`) and the early stop are timed as whole processes. Peak
RSS is the worker's `VmHWM` (`/proc/self/status`), which equals
`getrusage(RUSAGE_SELF).ru_maxrss` except that Linux carries `ru_maxrss` over
fork and exec from the harness (both are in `results.json`); commands show no
RSS for the same reason.

## Plots

![peak RSS against rows](memory.png)

![time against rows](time.png)

![keyset page latency against page number](pages.png)
"""


# --------------------------------------------------------------------- plots


def rolling_median(values: list[float], window: int) -> list[float]:
    """Median of each run of ``window`` consecutive values (centred)."""
    half = window // 2
    return [statistics.median(values[max(0, i - half) : i + half + 1]) for i in range(len(values))]


def median_run(samples: Samples, name: str, rows: int) -> dict:
    """The repeat whose total time is the median one."""
    runs = sorted(samples[name][rows], key=lambda sample: sample["seconds"])
    return runs[len(runs) // 2]


def tick_label(value: float, _position: object = None) -> str:
    """``1,000,000`` for big ticks, ``0.01`` for small ones (never ``1e+06``)."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def plot_lines(path: Path, title: str, labels: tuple[str, str], series: dict, log_y: bool) -> None:
    """One line chart of ``{label: (xs, ys)}`` with a log x axis, written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    palette = plt.colormaps["tab20"].colors
    figure, axes = plt.subplots(figsize=(10, 5))
    axes.set_prop_cycle(color=palette[::2] + palette[1::2])
    for label, (xs, ys) in series.items():
        style = "--" if label in ANCHOR_LABELS else "-"
        axes.plot(xs, ys, style, marker="o" if len(xs) < 20 else None, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log" if log_y else "linear")
    axes.set(title=title, xlabel=labels[0], ylabel=labels[1])
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(FuncFormatter(tick_label))
        axis.set_minor_formatter(NullFormatter())
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def by_rows(
    samples: Samples, names: tuple[str, ...], value: Callable[[Samples, str, int], float]
) -> dict:
    """``{label: (sizes, values)}`` for each figure in ``names`` that ran."""
    return {
        LABELS[name].replace("`", ""): (sizes, [value(samples, name, rows) for rows in sizes])
        for name in names
        if (sizes := sorted(samples.get(name, {})))
    }


def page_series(samples: Samples) -> dict:
    """Per-page latency in ms (rolling median over 1% of pages) for each walk."""
    series = {}
    for name in ("keyset", "offset"):
        for rows in sorted(samples.get(name, {})):
            latencies = [1000 * s for s in median_run(samples, name, rows)["latencies"]]
            smoothed = rolling_median(latencies, max(1, len(latencies) // 100))
            series[f"{name} walk, {rows:,} rows"] = (range(1, len(smoothed) + 1), smoothed)
    return series


def write_plots(out: Path, samples: Samples) -> None:
    """memory.png, time.png and pages.png in ``out``; skipped without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        print(
            "bench: matplotlib is not installed, so no plots "
            "(pip install -r bench/requirements.txt)",
            file=sys.stderr,
        )
        return
    plot_lines(
        out / "memory.png",
        "Peak RSS of the process against rows",
        ("rows", "peak RSS (MiB)"),
        by_rows(samples, (*MEMORY_PATTERNS, "fetchall"), rss_mb),
        log_y=False,
    )
    plot_lines(
        out / "time.png",
        "Time against rows (median)",
        ("rows", "seconds"),
        by_rows(samples, tuple(LABELS), seconds),
        log_y=True,
    )
    plot_lines(
        out / "pages.png",
        "Page latency against page number (pages of 100, rolling median over 1%)",
        ("page number", "ms per page"),
        page_series(samples),
        log_y=True,
    )


# -------------------------------------------------------------------- output


def json_samples(samples: Samples) -> dict:
    """The samples without per-page latencies, for results.json."""
    return {
        name: {
            rows: [{k: v for k, v in s.items() if k != "latencies"} for s in runs]
            for rows, runs in by.items()
        }
        for name, by in samples.items()
    }


def write_outputs(out: Path, samples: Samples, averages: dict[int, str], context: dict) -> Path:
    """Write RESULTS.md, results.json and the plots to ``out``; return RESULTS.md."""
    out.mkdir(parents=True, exist_ok=True)
    lines = targets(samples, averages)
    results = out / "RESULTS.md"
    results.write_text(markdown(lines, samples, context), encoding="utf-8")
    record = {
        "context": context,
        "server_averages": averages,
        "targets": [t.__dict__ for t in lines],
    }
    record["samples"] = json_samples(samples)
    (out / "results.json").write_text(
        json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8"
    )
    write_plots(out, samples)
    return results

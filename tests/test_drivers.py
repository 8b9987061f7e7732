"""The curriculum's drivers and main.py, run as subprocesses on a seeded test database.

Each driver must print exactly what the curriculum documents, on both
engines, and stay quiet and successful when its reader (``head``) goes away.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, open_connections, run_script, settled_sessions, table_rows, wait_for

KEYS = ["user_id", "name", "email", "age"]
AVERAGE_LINE = "Average age of users: 62.38"


@pytest.fixture
def user_lines(seeded: dict[str, str]) -> list[str]:
    """Every user as the drivers print it (``repr`` of the dict), in user_id order."""
    return [repr(dict(zip(KEYS, row, strict=True))) for row in table_rows()]


def printed(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines a driver printed, after checking it succeeded quietly."""
    assert result.stderr == ""
    assert result.returncode == 0
    return result.stdout.splitlines()


def test_1_main_prints_the_first_six_users(user_lines: list[str], seeded: dict[str, str]) -> None:
    assert printed(run_script("1-main.py", env=seeded)) == user_lines[:6]


def older_than_25(lines: list[str]) -> list[str]:
    return [line for line in lines if ast.literal_eval(line)["age"] > 25]


def test_2_main_prints_every_user_older_than_25(
    user_lines: list[str], seeded: dict[str, str]
) -> None:
    lines = printed(run_script("2-main.py", env=seeded))

    users = [ast.literal_eval(line) for line in lines]
    assert len(lines) == 804
    assert all(list(user) == KEYS and user["age"] > 25 for user in users)
    assert lines == older_than_25(user_lines)


def test_3_main_prints_every_user_page_by_page(
    user_lines: list[str], seeded: dict[str, str]
) -> None:
    lines = printed(run_script("3-main.py", env=seeded))

    assert len(lines) == 1000
    assert lines == user_lines


def test_4_stream_ages_prints_the_average_line(seeded: dict[str, str]) -> None:
    assert printed(run_script("4-stream_ages.py", env=seeded)) == [AVERAGE_LINE]


# What each numbered script's own demo prints, from every user's line.
DEMOS: dict[str, Callable[[list[str]], list[str]]] = {
    "0-stream_users.py": lambda lines: lines[:6],
    "1-batch_processing.py": older_than_25,
    "2-lazy_paginate.py": lambda lines: lines[:5],
    "5-keyset_paginate.py": lambda lines: lines[:5],
    "4-stream_ages.py": lambda _: [AVERAGE_LINE],
}


@pytest.mark.parametrize("script", DEMOS)
def test_each_numbered_script_runs_as_dot_slash_script(
    script: str, user_lines: list[str], seeded: dict[str, str]
) -> None:
    # The shebang finds python3 on PATH: put this interpreter's folder first.
    env = {**seeded, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{seeded['PATH']}"}
    result = subprocess.run(
        [f"./{script}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert printed(result) == DEMOS[script](user_lines)


DRIVERS = {1: "1-main.py", 2: "2-main.py", 3: "3-main.py", 4: "4-stream_ages.py"}


@pytest.mark.parametrize("task", DRIVERS)
def test_main_py_runs_the_tasks_driver(task: int, seeded: dict[str, str]) -> None:
    through_main = printed(run_script("main.py", str(task), env=seeded))
    assert through_main == printed(run_script(DRIVERS[task], env=seeded))


def test_main_py_help_lists_the_tasks() -> None:
    result = run_script("main.py", "--help", env=dict(os.environ))

    listed = re.findall(r"^\s+([0-9])\s+\S", result.stdout, re.MULTILINE)
    assert result.returncode == 0
    assert sorted(set(listed)) == ["0", "1", "2", "3", "4"]


def test_main_py_refuses_an_unknown_task_with_usage_status(seeded: dict[str, str]) -> None:
    result = run_script("main.py", "9", env=seeded)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage" in result.stderr


def test_main_py_without_a_task_runs_the_tour(seeded: dict[str, str]) -> None:
    lines = printed(run_script("main.py", env=seeded))

    assert any(line.strip() == AVERAGE_LINE for line in lines)
    for script in ("0-stream_users", "1-batch_processing", "2-lazy_paginate", "4-stream_ages"):
        assert any(line.startswith(script) for line in lines), script
    after = lines[lines.index(next(line for line in lines if line.startswith("7-export"))) + 1 :]
    assert [json.loads(line)["age"] > 25 for line in after[:3]] == [True] * 3
    assert any(line.startswith("8-async_streams") for line in lines)
    assert sum(line.strip() == AVERAGE_LINE for line in lines) == 2  # lessons 4 and 8


PIPES = [
    (["2-main.py"], 5),
    (["3-main.py"], 7),
    (["main.py", "2"], 5),
    (["main.py", "3"], 7),
]


@pytest.mark.parametrize("buffering", ["block-buffered", "unbuffered"])
@pytest.mark.parametrize(
    ("command", "lines"), PIPES, ids=[f"{' '.join(cmd)} | head -n {n}" for cmd, n in PIPES]
)
def test_drivers_piped_into_head_exit_0_quietly(
    command: list[str], lines: int, buffering: str, engine: str, seeded: dict[str, str]
) -> None:
    env = dict(seeded)
    if buffering == "block-buffered":  # as in a terminal user's ./2-main.py | head
        env.pop("PYTHONUNBUFFERED", None)
    before = settled_sessions() if engine == "mysql" else 0

    result = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" | head -n "$HEAD"', "pipe", sys.executable, *command],
        cwd=ROOT,
        env={**env, "HEAD": str(lines)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert len(printed(result)) == lines
    if engine == "mysql":
        assert wait_for(lambda: open_connections() == before)


IMPORT_PROBE = """
import importlib, os, sqlite3, sys
state = lambda: (dict(sqlite3.adapters), dict(sqlite3.converters), sys.excepthook,
                 dict(os.environ), os.getcwd(), sys.stdout, sys.stderr)
before = state()
for name in ("prodev.config", "prodev.errors", "prodev.connections", "prodev.backends",
             "prodev.backends.mysql", "prodev.backends.mysql_fast", "prodev.backends.sqlite",
             "prodev.schema", "prodev.csvfile", "prodev.bulkload",
             "prodev.resume", "prodev.curriculum", "prodev.follow", "prodev.produce"):
    importlib.import_module(name)
print("package", [a is b or a == b for a, b in zip(before, state())])
import seed
after_seed = state()
print("seed", [a is b or a == b for a, b in zip(before, after_seed)])
for name in ("0-stream_users", "1-batch_processing", "2-lazy_paginate", "4-stream_ages",
             "5-keyset_paginate", "6-follow_users"):
    importlib.import_module(name)
print("lessons", [a is b or a == b for a, b in zip(after_seed, state())])
"""


def test_importing_changes_no_process_state_but_the_documented_excepthook() -> None:
    result = run_script("-c", IMPORT_PROBE, env={**os.environ, "PYTHONPATH": str(ROOT)})

    assert result.returncode == 0, result.stderr
    same = [True] * 7
    assert result.stdout.splitlines() == [
        f"package {same}",
        f"seed {[True, True, False, True, True, True, True]}",  # only sys.excepthook
        f"lessons {same}",
    ]


def test_an_uncaught_setup_error_in_a_driver_prints_one_line() -> None:
    env = {**os.environ, "DB_ENGINE": "mysql", "MYSQL_HOST": "127.0.0.1", "MYSQL_PORT": "1"}
    result = run_script("1-main.py", env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: cannot reach MySQL at 127.0.0.1:1")
    assert len(result.stderr.splitlines()) == 1

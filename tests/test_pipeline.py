"""Lesson 7, the export pipeline: its rows, its early stops, its errors.

The rules of ``@stage`` (closing upstream, naming the failed stage and row)
are tested first as pure functions on in-memory rows; then the lesson on
both engines, in this process and as the command a user runs.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pytest
from conftest import (
    ROOT,
    load,
    open_connections,
    run_script,
    server_settings,
    settled_sessions,
    table_rows,
    wait_for,
)
from support.helpers import one_line_error

import seed
from prodev import connections
from prodev.pipeline import StageError, stage

export = load("7-export_users")
KEYS = ["user_id", "name", "email", "age"]
OLDER_THAN_25 = 804


def exported(older_than: int) -> list[dict]:
    """What the export must write, from the tests' own read of the table."""
    users = (dict(zip(KEYS, row, strict=True)) for row in table_rows())
    return [
        {"id": user["user_id"], "name": user["name"], "age": user["age"]}
        for user in users
        if user["age"] > older_than
    ]


def pipeline(source: Iterator[dict], older_than: int = 25) -> Iterator[str]:
    """The lesson's chain of stages, as its ``__main__`` builds it."""
    adults = export.keep_adults(source, older_than)
    return export.json_lines(export.pick_fields(adults, export.EXPORTED))


# ------------------------------------------------- @stage, on in-memory rows


@stage
def halve(numbers: Iterator[int]) -> Iterator[float]:
    """A stage that fails on a zero."""
    for number in numbers:
        yield 10 / number


@stage
def passing(items: Iterator[object]) -> Iterator[object]:
    """A stage that passes every item on."""
    for item in items:
        yield item


def test_a_stage_error_names_the_stage_the_row_number_and_the_row() -> None:
    with pytest.raises(StageError) as raised:
        list(halve(iter([5, 2, 0, 1])))

    assert str(raised.value) == "halve: row 3 (0): ZeroDivisionError: division by zero"
    assert isinstance(raised.value.__cause__, ZeroDivisionError)


def test_a_dict_row_is_named_by_its_first_field() -> None:
    users = [{"user_id": "u-1", "age": 30}, {"user_id": "u-2"}]

    with pytest.raises(StageError) as raised:
        list(export.keep_adults(iter(users), 25))

    assert str(raised.value) == "keep_adults: row 2 (user_id 'u-2'): KeyError: 'age'"


def test_an_error_upstream_passes_through_the_stages_below_unchanged() -> None:
    with pytest.raises(StageError) as raised:
        list(passing(passing(halve(iter([1, 0])))))

    assert str(raised.value).startswith("halve: row 2 ")


def test_an_error_of_the_source_is_not_blamed_on_a_stage() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise seed.ConnectionLost("lost the connection to MySQL")

    with pytest.raises(seed.ConnectionLost):
        list(passing(halve(source())))


def test_a_row_error_is_one_line_whatever_the_exception_says() -> None:
    @stage
    def complain(rows: Iterator[str]) -> Iterator[str]:
        """Fail with a message of several lines."""
        for row in rows:
            raise ValueError(f"first\nsecond {row}")
        yield ""

    with pytest.raises(StageError) as raised:
        list(complain(iter(["x\ny"])))

    assert "\n" not in str(raised.value)


def test_an_error_before_the_first_row_is_the_callers_own() -> None:
    with pytest.raises(ValueError, match="age must be"):
        list(export.keep_adults(iter([]), -1))


def test_closing_the_last_stage_closes_every_stage_above_it() -> None:
    def source() -> Iterator[dict]:
        for number in range(1_000):
            yield {"user_id": str(number), "name": "n", "age": number}

    users = source()
    adults = export.keep_adults(users, 25)
    records = export.pick_fields(adults, export.EXPORTED)
    lines = export.json_lines(records)
    assert len(list(islice(lines, 3))) == 3

    lines.close()  # every stage is still referenced here: only close() can end it

    stages = (users, adults, records, lines)
    assert [inspect.getgeneratorstate(each) for each in stages] == ["GEN_CLOSED"] * 4


@pytest.mark.parametrize("name", ["keep_adults", "pick_fields", "json_lines"])
def test_each_stage_stays_a_generator_function_under_its_own_name(name: str) -> None:
    function = getattr(export, name)
    assert inspect.isgeneratorfunction(function)
    assert function.__name__ == name


# ---------------------------------------------------------- on both engines


def test_the_command_writes_every_user_older_than_25_as_a_json_line(
    engine: str, seeded: dict[str, str]
) -> None:
    result = run_script("7-export_users.py", "--older-than", "25", env=seeded)

    assert result.returncode == 0
    assert result.stderr == ""
    assert [json.loads(line) for line in result.stdout.splitlines()] == exported(25)
    assert len(result.stdout.splitlines()) == OLDER_THAN_25


def test_without_an_option_the_command_exports_the_users_older_than_25(
    engine: str, seeded: dict[str, str]
) -> None:
    result = run_script("7-export_users.py", env=seeded)
    assert len(result.stdout.splitlines()) == OLDER_THAN_25


@pytest.mark.parametrize("older_than", [0, 67, 120])
def test_keep_adults_keeps_exactly_the_users_strictly_older(
    older_than: int, engine: str, seeded: dict[str, str]
) -> None:
    lines = list(pipeline(export.stream_users(), older_than))
    assert [json.loads(line) for line in lines] == exported(older_than)


@pytest.mark.parametrize("bad", ["-1", "abc", "2.5", ""])
def test_a_bad_age_on_the_command_line_is_one_line_before_any_connection(
    bad: str, engine: str, seeded: dict[str, str]
) -> None:
    before = settled_sessions() if engine == "mysql" else 0
    result = run_script("7-export_users.py", "--older-than", bad, env=seeded)

    assert "--older-than" in one_line_error(result)
    assert result.returncode == 2
    assert result.stdout == ""
    if engine == "mysql":
        assert open_connections() == before


def test_a_failing_stage_ends_the_command_with_one_line_naming_it_and_the_row(
    engine: str, seeded: dict[str, str]
) -> None:
    first_user_id = table_rows()[0][0]
    code = (
        "import sys; m = __import__('7-export_users');"
        "sys.stdout.writelines(m.pick_fields(m.stream_users(), {'phone': 'phone'}))"
    )
    result = run_script("-c", code, env=seeded)

    line = one_line_error(result)
    assert line == f"error: pick_fields: row 1 (user_id {first_user_id!r}): KeyError: 'phone'"


def test_a_failing_stage_closes_the_connection(
    engine: str, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = settled_sessions() if engine == "mysql" else 0
    opened = []
    real = connections.open_connection
    monkeypatch.setattr(
        connections, "open_connection", lambda *a, **k: opened.append(real(*a, **k)) or opened[-1]
    )

    with pytest.raises(StageError):
        list(export.pick_fields(export.stream_users(), {"phone": "phone"}))

    assert len(opened) == 1
    if engine == "mysql":
        assert wait_for(lambda: open_connections() == before)
    else:
        assert not opened[0].is_connected()


# ------------------------------------------- early stop of a large export


MANY_USERS = 100_000  # about 8 MB of JSON: far more than a pipe holds
INSERT = "INSERT INTO user_data (user_id, name, email, age) VALUES (%s, %s, %s, %s)"


@pytest.fixture
def many_users(empty_table: dict[str, str]) -> dict[str, str]:
    """user_data holding MANY_USERS generated users, all older than 25."""
    users = [
        (f"id-{n:07}", f"User {n}", f"user{n}@example.com", 26 + n % 80) for n in range(MANY_USERS)
    ]
    with seed.prodev_connection() as connection:
        connection.cursor().executemany(INSERT, users)
        connection.commit()
    return empty_table


def test_the_export_piped_into_head_stops_at_once_and_prints_nothing_else(
    engine: str, many_users: dict[str, str]
) -> None:
    before = settled_sessions() if engine == "mysql" else 0
    started = time.perf_counter()
    full = run_script(
        "7-export_users.py", env=many_users, capture_output=False, stdout=subprocess.DEVNULL
    )
    whole = time.perf_counter() - started

    started = time.perf_counter()
    head = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$0" 7-export_users.py | head -n 3', sys.executable],
        cwd=ROOT,
        env=many_users,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    stopped = time.perf_counter() - started

    assert full.returncode == 0
    assert head.returncode == 0, head.stderr
    assert head.stderr == ""
    assert len(head.stdout.splitlines()) == 3
    assert stopped < whole / 2, f"| head {stopped:.2f} s, the whole export {whole:.2f} s"
    if engine == "mysql":
        assert wait_for(lambda: open_connections() == before)


def test_taking_a_few_lines_pulls_no_more_rows_than_it_needs(
    engine: str, many_users: dict[str, str]
) -> None:
    pulled = []

    def counted() -> Iterator[dict]:
        for user in export.stream_users():
            pulled.append(user["user_id"])
            yield user

    assert len(list(islice(pipeline(counted()), 6))) == 6
    assert len(pulled) == 6


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)  # the anchor is the mariadb client
def test_the_benchmark_runs_and_reports_each_size(engine: str, tmp_path: Path) -> None:
    report = tmp_path / "PIPELINE.md"
    env = {**os.environ, **server_settings(), "DB_ENGINE": "mysql"}
    result = run_script("bench/pipeline.py", "--quick", "--out", str(report), env=env)

    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in report.read_text().splitlines()]
    sizes = [row for row in rows if len(row) > 2 and row[1].strip() == "2,000"]
    assert len(sizes) == 1
    assert 0 < int(sizes[0][2].replace(",", "")) < 2_000  # the users older than 25

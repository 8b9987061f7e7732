"""Behaviour of the four generator patterns, on both engines, plus static checks.

The rows the scripts must produce are read independently with ``table_rows()``
(one plain query, in user_id order) from the tests' own seeded database.
Static checks read the numbered files with ``ast``: loop counts per the
contract, ``yield``, length, no engine branching, no SQL built
by pasting values into a string.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import operator
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import chain

import pytest
from conftest import (
    ROOT,
    load,
    open_connections,
    run_script,
    settled_sessions,
    table_rows,
    wait_for,
)
from support.helpers import one_line_error

import seed
from prodev import connections

KEYS = ["user_id", "name", "email", "age"]
SAMPLE_USERS = 1_000
OLDER_THAN_25 = 804
AGE_TOTAL = 62_379
MEAN_AGE = Decimal("62.379")
NUMBERED = sorted(
    path.name for path in ROOT.glob("[0-9]-*.py") if not path.name.endswith("-main.py")
)
SCREEN = 45  # lines: each lesson, docstring included, reads on one screen

stream = load("0-stream_users")
batches = load("1-batch_processing")
pages = load("2-lazy_paginate")
keyset = load("5-keyset_paginate")
ages = load("4-stream_ages")


@pytest.fixture
def users(seeded: dict[str, str]) -> list[dict]:
    """The sample's users as the scripts must yield them, read independently."""
    return [dict(zip(KEYS, row, strict=True)) for row in table_rows()]


def flatten(pages_of_users: Iterable[list[dict]]) -> list[dict]:
    return list(chain.from_iterable(pages_of_users))


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple]:
    """Replace ``owner.name`` by a pass-through spy; return the list of its calls' args."""
    calls: list[tuple] = []
    real = getattr(owner, name)

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


# ------------------------------------------------------------ 0-stream_users


def test_stream_users_yields_every_user_as_a_dict_in_user_id_order(users: list[dict]) -> None:
    streamed = list(stream.stream_users())

    assert len(streamed) == SAMPLE_USERS
    assert streamed == users
    assert all(list(user) == KEYS for user in streamed)
    assert all(type(user["age"]) is int for user in streamed)
    assert [user["user_id"] for user in streamed] == sorted(user["user_id"] for user in users)


def test_stream_users_returns_a_generator() -> None:
    users = stream.stream_users()  # no query yet: a generator waits for its first next()
    assert isinstance(users, types.GeneratorType)
    users.close()


def load_unregistered(name: str) -> types.ModuleType:
    """Load 0-stream_users.py from its file without putting it in sys.modules."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "0-stream_users.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream_through_spec(monkeypatch: pytest.MonkeyPatch, fresh: bool) -> Iterator[dict]:
    """As a driver that loads the file by path: first load (fresh) or after an import."""
    if fresh:
        monkeypatch.delitem(sys.modules, "0-stream_users", raising=False)
    registered = sys.modules.get("0-stream_users")
    module = load_unregistered("0-stream_users")
    assert sys.modules.get("0-stream_users") is registered, "the loader must not register it"
    return module.stream_users()


IMPORT_STYLES: dict[str, Callable[[pytest.MonkeyPatch], Iterator[dict]]] = {
    "call the module": lambda _: __import__("0-stream_users")(),
    "__import__ attribute": lambda _: __import__("0-stream_users").stream_users(),
    "import_module": lambda _: importlib.import_module("0-stream_users").stream_users(),
    "spec, first load": lambda patch: stream_through_spec(patch, fresh=True),
    "spec, after import": lambda patch: stream_through_spec(patch, fresh=False),
}


@pytest.mark.parametrize("style", IMPORT_STYLES)
def test_every_way_a_driver_imports_stream_users_gives_the_rows(
    style: str, users: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(IMPORT_STYLES[style](monkeypatch)) == users


def test_the_imported_module_stays_callable_after_a_spec_load(seeded: dict[str, str]) -> None:
    module = importlib.import_module("0-stream_users")
    load_unregistered("0-stream_users")

    assert callable(module)
    assert next(module())["user_id"] == table_rows()[0][0]


# ------------------------------------------------------- 1-batch_processing


@pytest.mark.parametrize("size", [1, 7, 50, 1000, 1001])
def test_batches_are_full_except_a_shorter_last_and_cover_every_user(
    size: int, users: list[dict]
) -> None:
    got = list(batches.stream_users_in_batches(size))

    assert all(got), "no batch may be empty"
    assert all(len(batch) == size for batch in got[:-1])
    assert 0 < len(got[-1]) <= size
    assert len(got) == -(-SAMPLE_USERS // size)
    assert flatten(got) == users


def test_batch_processing_prints_each_user_older_than_25_once_in_order(
    users: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    returned = batches.batch_processing(50)

    printed = capsys.readouterr().out.splitlines()
    assert returned is None
    assert not inspect.isgeneratorfunction(batches.batch_processing)
    assert printed == [repr(user) for user in users if user["age"] > 25]
    assert len(printed) == OLDER_THAN_25


# ---------------------------------------------------------- 2-lazy_paginate


@pytest.mark.parametrize("offset", [0, 1, 999, 1000, 5000])
@pytest.mark.parametrize("size", [1, 10, 100])
def test_paginate_users_returns_the_slice_at_offset(
    size: int, offset: int, users: list[dict]
) -> None:
    assert pages.paginate_users(size, offset) == users[offset : offset + size]


@pytest.mark.parametrize("name", ["lazy_paginate", "lazy_pagination"])
@pytest.mark.parametrize("size", [1, 7, 100, 1000, 1001])
def test_lazy_pages_cover_every_user_once_in_order(name: str, size: int, users: list[dict]) -> None:
    got = list(getattr(pages, name)(size))

    assert all(got), "no page may be empty"
    assert got == [users[start : start + size] for start in range(0, SAMPLE_USERS, size)]


def test_lazy_pagination_is_lazy_paginate_under_the_drivers_name(users: list[dict]) -> None:
    same = pages.lazy_pagination is pages.lazy_paginate
    assert same or list(pages.lazy_pagination(100)) == list(pages.lazy_paginate(100))


def test_lazy_paginate_fetches_one_page_per_next_and_none_before(
    users: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = count_calls(monkeypatch, pages, "paginate_users")

    walk = pages.lazy_paginate(300)
    assert len(fetches) == 0
    for asked, start in enumerate(range(0, SAMPLE_USERS, 300), start=1):
        assert next(walk) == users[start : start + 300]
        assert len(fetches) == asked
    with pytest.raises(StopIteration):
        next(walk)
    offsets = [args[1] for args in fetches]
    assert offsets == [0, 300, 600, 900, 1200]  # the last fetch finds the end


@pytest.mark.parametrize("size", [1, 7, 100, 999, 1000, 1001])
def test_keyset_walk_gives_the_same_pages_as_the_offset_walk(size: int, users: list[dict]) -> None:
    by_key = list(keyset.keyset_paginate(size))

    assert by_key == list(pages.lazy_paginate(size))
    assert flatten(by_key) == users


@pytest.mark.parametrize("row", [0, 1, 499, 998, 999])
def test_keyset_walk_resumes_right_after_the_given_user_id(row: int, users: list[dict]) -> None:
    resumed = keyset.keyset_paginate(50, after=users[row]["user_id"])
    assert flatten(resumed) == users[row + 1 :]


WALKS = {"lazy_paginate": pages.lazy_paginate, "keyset_paginate": keyset.keyset_paginate}


@pytest.mark.parametrize("walk", WALKS)
def test_a_whole_walk_opens_one_connection(
    walk: str, users: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = count_calls(monkeypatch, connections, "open_connection")

    assert flatten(WALKS[walk](100)) == users
    assert len(opened) == 1


@pytest.mark.parametrize("engine", ["mysql"], indirect=True)  # sessions are a server's
@pytest.mark.parametrize("walk", WALKS)
def test_a_paused_walk_holds_exactly_one_server_session(
    walk: str, engine: str, users: list[dict]
) -> None:
    before = settled_sessions()

    paused = WALKS[walk](100)
    next(paused)
    next(paused)
    assert open_connections() == before + 1
    paused.close()
    assert wait_for(lambda: open_connections() == before)


# ------------------------------------------------------------- 4-stream_ages


def test_stream_user_ages_yields_every_age(users: list[dict]) -> None:
    streamed = list(ages.stream_user_ages())

    assert len(streamed) == SAMPLE_USERS
    assert sum(streamed) == AGE_TOTAL
    assert sorted(streamed) == sorted(user["age"] for user in users)


@pytest.mark.parametrize("name", ["calculate_average_age", "average_age", "compute_average_age"])
def test_average_age_is_exact_and_formats_with_two_decimals(
    name: str, seeded: dict[str, str]
) -> None:
    average = getattr(ages, name)()

    assert average == MEAN_AGE  # a float 62.379 would compare unequal
    assert f"{average:.2f}" == "62.38"


def test_average_age_of_an_empty_table_is_a_setup_error(empty_table: dict[str, str]) -> None:
    with pytest.raises(seed.SetupError):
        ages.calculate_average_age()


def test_4_stream_ages_on_an_empty_table_exits_with_one_clear_line(
    empty_table: dict[str, str],
) -> None:
    result = run_script("4-stream_ages.py", env=empty_table)

    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert "empty" in result.stderr


# --------------------------------------------------------------- empty table

EMPTY_WALKS: dict[str, Callable[[], Iterator[object]]] = {
    "stream_users": lambda: stream.stream_users(),
    "stream_users_in_batches": lambda: batches.stream_users_in_batches(50),
    "lazy_paginate": lambda: pages.lazy_paginate(100),
    "keyset_paginate": lambda: keyset.keyset_paginate(100),
    "stream_user_ages": lambda: ages.stream_user_ages(),
}


@pytest.mark.parametrize("walk", EMPTY_WALKS)
def test_an_empty_table_yields_nothing_not_an_empty_batch_or_page(
    walk: str, empty_table: dict[str, str]
) -> None:
    assert list(EMPTY_WALKS[walk]()) == []


# ------------------------------------------------------------- bad arguments

# (bad value, the error it must raise); offset 0 is valid, sizes start at 1.
BAD_OFFSETS = [
    (-1, ValueError),
    (10**20, ValueError),  # beyond a BIGINT
    (1.5, TypeError),
    ("10", TypeError),
    (None, TypeError),
    (True, TypeError),  # a bool is not a size, though it is an int
]
BAD_SIZES = [(0, ValueError), *BAD_OFFSETS]

# Generators check their size first thing, so a bad one raises at the first next().
SIZED_CALLS: dict[str, Callable[[object], object]] = {
    "stream_users_in_batches": lambda size: next(batches.stream_users_in_batches(size)),
    "batch_processing": lambda size: batches.batch_processing(size),
    "paginate_users page_size": lambda size: pages.paginate_users(size, 0),
    "lazy_paginate": lambda size: next(pages.lazy_paginate(size)),
    "lazy_pagination": lambda size: next(pages.lazy_pagination(size)),
    "keyset_paginate": lambda size: next(keyset.keyset_paginate(size)),
}


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to connect."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("a connection was opened before the arguments were checked")

    monkeypatch.setattr(seed, "prodev_connection", refuse)
    monkeypatch.setattr(connections, "open_connection", refuse)


@pytest.mark.usefixtures("no_database")
@pytest.mark.parametrize(("bad", "error"), BAD_SIZES, ids=[repr(bad) for bad, _ in BAD_SIZES])
@pytest.mark.parametrize("call", SIZED_CALLS)
def test_a_bad_size_fails_before_any_sql(call: str, bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        SIZED_CALLS[call](bad)


@pytest.mark.parametrize("bad", ["0", "'50'"])
def test_an_uncaught_bad_size_is_one_line_and_a_failure(bad: str) -> None:
    """A driver that passes a bad size (and catches nothing) ends in one line."""
    call = f"__import__('1-batch_processing').batch_processing({bad})"
    result = run_script("-c", call, env={**os.environ, "DB_ENGINE": "sqlite"})
    assert one_line_error(result).startswith("error: batch_size must be an int")


@pytest.mark.usefixtures("no_database")
@pytest.mark.parametrize(("bad", "error"), BAD_OFFSETS, ids=[repr(bad) for bad, _ in BAD_OFFSETS])
def test_a_bad_offset_fails_at_the_call_before_any_sql(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        pages.paginate_users(10, bad)


# (resume point, the error it must raise): anything but None or a user_id as
# the project writes them, a UUID in lower-case canonical text.
BAD_POSITIONS = [
    (5, TypeError),
    (b"00000000-0000-0000-0000-000000000000", TypeError),
    ("é", ValueError),  # MySQL: 1267, illegal mix of collations; SQLite: no page
    ("", ValueError),
    ("00000000-0000-0000-0000-00000000000", ValueError),  # 35 characters
    ("0000000-00000-0000-0000-000000000000", ValueError),  # hyphens misplaced
    ("A0000000-0000-0000-0000-000000000000", ValueError),  # upper case sorts apart
    ("00000000-0000-0000-0000-000000000000\n", ValueError),
    ("x" * 10_000, ValueError),
]


@pytest.mark.usefixtures("db_env", "no_database")
@pytest.mark.parametrize(
    ("bad", "error"), BAD_POSITIONS, ids=[repr(bad)[:20] for bad, _ in BAD_POSITIONS]
)
def test_a_keyset_resume_point_that_is_not_a_user_id_fails_before_any_sql(
    bad: object, error: type[Exception]
) -> None:
    walk = keyset.keyset_paginate(10, after=bad)
    with pytest.raises(error) as raised:
        next(walk)

    assert isinstance(raised.value, seed.SetupError)  # uncaught, it prints as one line
    message = str(raised.value)
    assert message.startswith("after must be a user_id")
    assert "\n" not in message
    assert len(message) < 200
    assert repr(bad)[:10] in message


def test_an_uncaught_bad_resume_point_is_one_line_and_a_failure(db_env: dict[str, str]) -> None:
    call = "next(__import__('5-keyset_paginate').keyset_paginate(5, after='é'))"
    result = run_script("-c", call, env=db_env)
    assert one_line_error(result) == (
        "error: after must be a user_id, a UUID in lower-case canonical form "
        "(like '00000000-0000-0000-0000-000000000000'), got 'é'"
    )


# ------------------------------------------------- static checks with ast


def parse(script: str) -> ast.Module:
    return ast.parse((ROOT / script).read_text(), filename=script)


def count_loops(tree: ast.AST) -> int:
    """for/async for/while statements plus each ``for`` clause of a comprehension."""
    loops = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)
    return sum(isinstance(node, loops) for node in ast.walk(tree))


def test_the_loop_counter_counts_statements_and_comprehension_clauses() -> None:
    tree = ast.parse(
        "def f():\n    for a in b:\n        c = [d for d in a for e in d]\n"
        "while h:\n    pass\n"
        "if __name__ == '__main__':\n    print(*(x for x in y))\n"
    )
    assert count_loops(tree) == 5


# Counted as graders count them: every loop in the file, __main__ block included.
LOOP_LIMITS = [
    ("0-stream_users.py", operator.le, 1),
    ("1-batch_processing.py", operator.le, 3),
    ("2-lazy_paginate.py", operator.eq, 1),
    ("4-stream_ages.py", operator.le, 2),
]


@pytest.mark.parametrize(
    ("script", "compare", "limit"), LOOP_LIMITS, ids=[script for script, _, _ in LOOP_LIMITS]
)
def test_loop_counts_per_file_keep_to_the_contract(
    script: str, compare: Callable[[int, int], bool], limit: int
) -> None:
    loops = count_loops(parse(script))
    assert compare(loops, limit), f"{script}: {loops} loops"


GENERATORS = [
    ("0-stream_users", "stream_users"),
    ("1-batch_processing", "stream_users_in_batches"),
    ("2-lazy_paginate", "lazy_paginate"),
    ("2-lazy_paginate", "lazy_pagination"),
    ("4-stream_ages", "stream_user_ages"),
    ("5-keyset_paginate", "keyset_paginate"),
    ("6-follow_users", "follow_users"),
    ("6-follow_users", "follow_positions"),
    ("7-export_users", "keep_adults"),
    ("7-export_users", "pick_fields"),
    ("7-export_users", "json_lines"),
]


@pytest.mark.parametrize(("module", "name"), GENERATORS, ids=[n for _, n in GENERATORS])
def test_each_graded_generator_is_a_generator_function_with_its_own_yield_and_loop(
    module: str, name: str
) -> None:
    function = getattr(load(module), name)
    assert inspect.isgeneratorfunction(function)
    definition = next(
        node
        for node in ast.walk(parse(f"{module}.py"))
        if isinstance(node, ast.FunctionDef) and node.name == function.__name__
    )
    assert any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(definition))
    assert count_loops(definition) >= 1


@pytest.mark.parametrize("script", NUMBERED)
def test_each_numbered_script_yields(script: str) -> None:
    assert any(isinstance(node, ast.Yield | ast.YieldFrom) for node in ast.walk(parse(script)))


@pytest.mark.parametrize("script", NUMBERED)
def test_each_lesson_fits_on_one_screen(script: str) -> None:
    assert len((ROOT / script).read_text().splitlines()) <= SCREEN


def test_the_average_is_not_computed_by_sql() -> None:
    assert not re.search(r"\bAVG\s*\(", (ROOT / "4-stream_ages.py").read_text(), re.IGNORECASE)


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes of the module, its classes and functions."""
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr):
            value = node.body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def code_words(tree: ast.Module) -> Iterator[str]:
    """Every identifier and non-docstring string of the code, lower-cased."""
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.value.lower()
        elif isinstance(node, ast.Name):
            yield node.id.lower()
        elif isinstance(node, ast.Attribute):
            yield node.attr.lower()
        elif isinstance(node, ast.arg):
            yield node.arg.lower()
        elif isinstance(node, ast.alias):
            yield f"{node.name} {node.asname or ''}".lower()
        elif isinstance(node, ast.ImportFrom):
            yield (node.module or "").lower()
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            yield node.name.lower()


@pytest.mark.parametrize("script", NUMBERED)
def test_numbered_scripts_never_mention_an_engine(script: str) -> None:
    mentions = [
        word
        for word in code_words(parse(script))
        if any(engine in word for engine in ("sqlite", "mysql", "db_engine"))
    ]
    assert mentions == []


def pasted_sql(tree: ast.Module) -> list[str]:
    """Places where a string containing SELECT is formatted with values."""
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }

    def text(node: ast.AST) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants.get(node.id, "")
        if isinstance(node, ast.JoinedStr):
            return "".join(text(part) for part in node.values)
        return ""

    def is_select(node: ast.AST) -> bool:
        return "select" in text(node).lower()

    def is_constant(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) or (
            isinstance(node, ast.Name) and node.id in constants
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and is_select(node):
            if any(isinstance(part, ast.FormattedValue) for part in node.values):
                found.append(f"line {node.lineno}: f-string")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            pasting = not (is_constant(node.left) and is_constant(node.right))
            if pasting and (is_select(node.left) or is_select(node.right)):
                found.append(f"line {node.lineno}: {type(node.op).__name__}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and is_select(node.func.value)
        ):
            found.append(f"line {node.lineno}: .format")
    return found


def test_the_pasted_sql_detector_finds_each_way_of_pasting() -> None:
    tree = ast.parse(
        'Q = "SELECT * FROM t LIMIT %s"\n'
        'a = f"SELECT * FROM t LIMIT {n}"\n'
        'b = "SELECT * FROM t LIMIT %d" % n\n'
        "c = Q.format(n)\n"
        'd = "SELECT * FROM t WHERE x = " + x\n'
        "cursor.execute(Q, (n,))\n"
        'e = Q + " ORDER BY x"\n'
    )
    assert sorted(place.split(":")[0] for place in pasted_sql(tree)) == [
        "line 2", "line 3", "line 4", "line 5",
    ]  # fmt: skip


@pytest.mark.parametrize("script", NUMBERED)
def test_numbered_scripts_bind_values_instead_of_pasting_them_into_sql(script: str) -> None:
    assert pasted_sql(parse(script)) == []

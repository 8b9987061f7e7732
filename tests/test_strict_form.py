"""Property: the strict fast reader reads a file exactly as read_users does, or refuses it.

``prodev.csvfile.strict_blocks`` reads files in the curriculum sample's form
(every field quoted, nothing to escape) a block at a time with one regular
expression; ``read_users`` applies every rule through the csv module. No
database: Hypothesis writes files in the strict form (varied names and
e-mails, multi-byte text and fields at their length limits, ages at theirs,
a BOM or not, LF or CRLF, a last newline or not) and files one change
outside it (a bad or an unusual but valid field, line or header), and checks:

- a file in the strict form is never refused;
- whatever ``strict_blocks`` accepts gives read_users' rows, and the same
  spool lines for LOAD DATA as read_users' rows give;
- whatever it refuses still loads, or fails, exactly as read_users says:
  ``bulkload._sorted_rows`` (strict first, then the ordinary reader) gives
  read_users' rows in user_id order, or read_users' error.

The example count is a multiple of the Hypothesis profile's (conftest.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from prodev import bulkload
from prodev.csvfile import LIMITS, NotStrict, read_users, strict_blocks
from prodev.errors import SetupError

HEADER = '"name","email","age"'
INVALID_BYTE = "\ue000"  # stands for a byte that is not UTF-8, written as \xff
# Inside a strict field: no quote, backslash or ASCII control character.
OUTSIDE_STRICT = '"\\' + "".join(map(chr, range(32))) + "\x7f" + INVALID_BYTE
INSIDE = st.characters(codec="utf-8", exclude_characters=OUTSIDE_STRICT)
FIRST = INSIDE.filter(lambda char: not char.isspace())
FILLERS = ["a", "é", "日", "\U0001f600", " ", "\u200b", "\x85"]
AGES_AT_LIMITS = ["0", "00", "000", "0.0", "0.00", "999", "999.9", "999.99", "67", "30.5"]
AGE = st.one_of(
    st.sampled_from(AGES_AT_LIMITS), st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,2})?", fullmatch=True)
)
EXAMPLES = 12 * settings().max_examples  # no database: cheap examples, many of them


def strict_text(limit: int) -> st.SearchStrategy[str]:
    """A field value in the strict form: short, typical, or exactly ``limit`` long."""
    short = st.builds(str.__add__, FIRST, st.text(INSIDE, max_size=20))
    full = st.builds(
        lambda first, filler: (first + filler * limit)[:limit], FIRST, st.sampled_from(FILLERS)
    )
    typical = st.from_regex(r"[A-Z][a-z]{1,9}( [A-Z][a-z]{1,12})?( Jr\.)?", fullmatch=True)
    mail = st.from_regex(r"[A-Za-z0-9._%+-]{1,20}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True)
    return st.one_of(short, full, typical, mail)


ROW = st.tuples(strict_text(LIMITS["name"]), strict_text(LIMITS["email"]), AGE)


@st.composite
def strict_files(draw: st.DrawFn) -> tuple[str, list[list[str]], bool, list[str], bool]:
    """(header, rows as raw fields, BOM, line endings, last newline) in the strict form."""
    rows = [[f'"{value}"' for value in row] for row in draw(st.lists(ROW, max_size=12))]
    endings = draw(
        st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(rows) + 1, max_size=len(rows) + 1)
    )
    return HEADER, rows, draw(st.booleans()), endings, draw(st.booleans())


def written(header: str, rows: list[list[str]], bom: bool, endings: list[str], last: bool) -> bytes:
    lines = [header, *(",".join(row) for row in rows)]
    text = "".join(line + end for line, end in zip(lines, endings, strict=True))
    if not last:
        text = text.removesuffix(endings[-1])
    data = ("\ufeff" if bom else "") + text
    return data.encode("utf-8", "surrogatepass").replace(INVALID_BYTE.encode(), b"\xff")


# One change takes a strict file out of the strict form: a field, as written
# in the file, that read_users accepts or rejects, but strict_blocks refuses.
OUTSIDE_TEXTS = [
    '" leading space"',
    '"   "',
    '""',
    '"a ""quoted"" word"',
    f'"bad {INVALID_BYTE} byte"',
    "unquoted",
    " spaced ",
    '"stray',
    'a"b',
]
OUTSIDE_AGES = ['"-1"', '" 5"', '"5 "', '"١٢"', '"1."', '".5"', '"1e2"', "42", '""', '"1,5"']


@st.composite
def outside_text(draw: st.DrawFn, limit: int) -> str:
    """A name or e-mail field just outside the strict form."""
    kind = draw(st.sampled_from(["listed", "special", "long"]))
    if kind == "listed":
        return draw(st.sampled_from(OUTSIDE_TEXTS))
    if kind == "special":  # a character a strict field never holds, anywhere in it
        text = draw(strict_text(limit - 1))
        at = draw(st.integers(0, len(text)))
        return f'"{text[:at]}{draw(st.sampled_from(OUTSIDE_STRICT[1:]))}{text[at:]}"'
    return f'"{draw(strict_text(limit))}{draw(FIRST)}"'  # one character too long


OUTSIDE_AGE = st.one_of(
    st.sampled_from(OUTSIDE_AGES),
    st.from_regex(r'"[0-9]{4,5}(\.[0-9]{1,2})?"', fullmatch=True),
    st.from_regex(r'"[0-9]{1,3}\.[0-9]{3,4}"', fullmatch=True),
)
OUTSIDE_HEADERS = [
    '"email","name","age"',
    "name,email,age",
    '"Name","email","age"',
    '\ufeff"name","email","age"',
    '"name","email","age",""',
    '"name","email"',
    '"name" ,"email","age"',
]


@st.composite
def near_strict_files(draw: st.DrawFn) -> tuple[str, list[list[str]], bool, list[str], bool]:
    """A strict file with one change: a field, a line, a line ending or the header."""
    header, rows, bom, endings, last = draw(strict_files())
    changes = ["name", "email", "age", "line", "ending", "header"]
    change = draw(st.sampled_from(changes if rows else ["header"]))
    if change == "header":
        header = draw(st.sampled_from(OUTSIDE_HEADERS))
    elif change in LIMITS:
        draw(st.sampled_from(rows))[0 if change == "name" else 1] = draw(
            outside_text(LIMITS[change])
        )
    elif change == "age":
        draw(st.sampled_from(rows))[2] = draw(OUTSIDE_AGE)
    elif change == "line":
        at = draw(st.integers(0, len(rows)))
        rows.insert(at, draw(st.sampled_from([[""], ['"a"', '"b"'], ['"a"', '"b"', '"1"', '"x"']])))
        endings.insert(at, "\n")
    else:
        endings[draw(st.integers(0, len(endings) - 1))] = draw(st.sampled_from(["\r", "\n\n"]))
    return header, rows, bom, endings, last


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="strict-form-") as folder:
        yield Path(folder) / "users.csv"


def ordinary(path: Path) -> tuple[str, object]:
    """read_users' verdict: ("rows", [(name, email, age)]) or ("error", its message)."""
    try:
        return "rows", [(user.name, user.email, user.age) for user in read_users(path)]
    except SetupError as error:
        return "error", str(error)


def strict(path: Path) -> tuple[list[tuple[str, str, str]], int] | None:
    """strict_blocks' rows and bytes read, or None when it refuses the file."""
    try:
        blocks = list(strict_blocks(path))
    except NotStrict:
        return None
    return [row for rows, _ in blocks for row in rows], sum(size for _, size in blocks)


def spool(blocks: Iterator[bulkload.Block]) -> str:
    return "".join(text for _, _, text in blocks)


def loaded(path: Path) -> tuple[str, object]:
    """What the LOAD DATA path hands the server: sorted spool lines, or the error."""
    try:
        with bulkload._sorted_rows(path) as (rows, count):
            return "rows", (rows.read().decode(), count)
    except SetupError as error:
        return "error", str(error)


def check(path: Path, content: bytes) -> bool:
    """Every claim of the module docstring for one file; True if strict accepted it."""
    path.write_bytes(content)
    verdict, expected = ordinary(path)
    fast = strict(path)
    if fast is not None:
        assert (verdict, fast[0]) == ("rows", expected)
        assert fast[1] == len(content)
        assert spool(bulkload._strict_spool(path)) == spool(bulkload._checked_blocks(path))
    if verdict == "rows":
        # split("\n"), not splitlines(): a name may hold \x85 or \u2028.
        lines = [line + "\n" for line in spool(bulkload._checked_blocks(path)).split("\n")[:-1]]
        in_order = sorted(lines, key=lambda line: line.split("\t", 1)[0].encode())
        assert loaded(path) == ("rows", ("".join(in_order), len(expected)))
    else:
        assert loaded(path) == ("error", expected)
    return fast is not None


@settings(max_examples=EXAMPLES)
@given(parts=strict_files())
def test_a_file_in_the_strict_form_reads_fast_and_exactly_as_read_users(
    scratch: Path, parts: tuple
) -> None:
    assert check(scratch, written(*parts)), "a file in the strict form was refused"


@settings(max_examples=EXAMPLES)
@given(parts=near_strict_files())
def test_a_file_just_outside_the_strict_form_still_reads_or_fails_as_read_users_says(
    scratch: Path, parts: tuple
) -> None:
    event(
        "read by strict_blocks" if check(scratch, written(*parts)) else "refused by strict_blocks"
    )


def test_the_sample_file_is_in_the_strict_form() -> None:
    sample = Path(__file__).resolve().parent.parent / "user_data.csv"
    rows, size = strict(sample) or ([], 0)
    assert len(rows) == 1_000 and size == sample.stat().st_size

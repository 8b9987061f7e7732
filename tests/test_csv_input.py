"""Bad CSV input: ``python3 seed.py FILE`` on files a user might really have.

An invalid file makes seed.py exit non-zero with one ``error: FILE: line N:``
line naming the field and the value, never a traceback, and leaves the table
exactly as it was (each such test seeds the sample first and compares every
row). A valid but unusual file loads fully and exactly.
"""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import ROOT, run_script, table_rows

import seed

HEADER = '"name","email","age"'
CREATED = "Table user_data created successfully"
MISSING, DIRECTORY = object(), object()  # inputs that are not a file's content


def csv_lines(*lines: str, header: str = HEADER) -> str:
    return "\n".join((header, *lines)) + "\n"


def make_input(tmp_path: Path, content: str | bytes | object) -> Path:
    """The path seed.py is given: a file holding ``content``, or a missing file, or a folder."""
    path = tmp_path / "users.csv"
    if content is DIRECTORY:
        path.mkdir()
    elif isinstance(content, str):
        path.write_bytes(content.encode())
    elif isinstance(content, bytes):
        path.write_bytes(content)
    return path


def run_seed(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_script("seed.py", str(path), env=env)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr's lines, after checking the run failed cleanly and loaded nothing."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    assert "rows read" not in result.stdout
    return result.stderr.splitlines()


def loaded_summary(result: subprocess.CompletedProcess[str]) -> str:
    """The summary after checking the run succeeded quietly."""
    assert (result.returncode, result.stderr) == (0, "")
    created, summary = result.stdout.splitlines()
    assert created == CREATED
    return summary


def row(name: str, email: str, age: int | Decimal) -> tuple:
    """A user_data row as table_rows() returns it."""
    return (seed.user_id_for(email), name, email, age)


def sample_with_bad_line(number: int, age: str) -> str:
    """The sample file with the age on line ``number`` replaced."""
    lines = (ROOT / "user_data.csv").read_text(encoding="utf-8").split("\n")
    lines[number - 1] = lines[number - 1].rsplit(",", 1)[0] + f',"{age}"'
    return "\n".join(lines)


GOOD = '"Ann Lee","ann@x.com","30"'
LONG = "N" * 256


def bad(case: str, content: str | bytes | object, line: int | None, *fragments: str) -> object:
    """A bad input, the line its error names (None: the file as a whole), and what it says."""
    return pytest.param(content, line, fragments, id=case)


def bad_row(case: str, text: str, *fragments: str) -> object:
    """A file whose second data row (line 3) is ``text``."""
    return bad(case, csv_lines(GOOD, text), 3, *fragments)


BAD_INPUTS = [    bad("missing file", MISSING, None, "cannot open", "No such file"),
    bad(
        "header missing a column",
        csv_lines('"Ann","ann@x.com"', header='"name","email"'),
        1,
        "header",
        "found: 'name', 'email'",
    ),
    bad_row("age too large", '"Bob","bob@x.com","1000"', "'age'", "'1000'"),
    bad(
        "invalid UTF-8",
        csv_lines(GOOD).encode() + b'"Jos\xe9","jose@x.com","31"\n',
        3,
        "'name'",
        "UTF-8",
        "Jos",
    ),
    bad(
        "unterminated quote swallowing the lines after it",
        csv_lines(GOOD, '"Bob","bob@x.com","31', "cy,cy@x.com,32", "di,di@x.com,33"),
        3,
        "malformed",
    ),
    bad("bad line in the middle of the sample", sample_with_bad_line(500, "abc"), 500, "'abc'"),
]


@pytest.mark.parametrize(("content", "line", "fragments"), BAD_INPUTS)
def test_a_bad_input_is_rejected_with_one_line_and_changes_nothing(
    seeded: dict[str, str],
    tmp_path: Path,
    content: str | bytes | object,
    line: int | None,
    fragments: tuple[str, ...],
) -> None:
    before = table_rows()
    path = make_input(tmp_path, content)
    (error,) = error_lines(run_seed(path, seeded))
    where = f"line {line}: " if line else ""
    assert error.startswith(f"error: {path}: {where}")
    for fragment in fragments:
        assert fragment in error
    assert table_rows() == before


# -------------------------------------------------------- valid, if unusual


def test_header_only_loads_nothing_and_succeeds(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    path = make_input(tmp_path, HEADER)  # and no newline after it
    summary = loaded_summary(run_seed(path, empty_table))
    assert summary.startswith("seed: users.csv: 0 rows read, 0 inserted, 0 already present (")
    assert table_rows() == []


def test_a_quoted_field_keeps_newline_comma_and_quotes_exactly(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    name = 'Smith, "Jr"\nof Paris'
    path = make_input(tmp_path, csv_lines('"Smith, ""Jr""\nof Paris","smith@x.com","41"', GOOD))
    assert " 2 rows read, 2 inserted" in loaded_summary(run_seed(path, empty_table))
    assert sorted(table_rows()) == sorted(
        [row(name, "smith@x.com", 41), row("Ann Lee", "ann@x.com", 30)]
    )


def test_values_the_bulk_loader_must_escape_load_exactly(
    empty_table: dict[str, str], tmp_path: Path
) -> None:
    users = [
        ("back\\slash\tand tab", "back@x.com", Decimal("2.5")),
        ("\\N", "null-marker@x.com", 3),
        ("carriage\rreturn\r\nand crlf", "cr@x.com", 5),
        ("  spaced  ", " Spaced@X.com ", 6),
        ("émoji 😀 日本", "ü@bücher.de", 7),
        ("trailing backslash\\", "trail@x.com", 8),
        ("N" * 255, "e" * 245 + "@long.test", Decimal("999.99")),
    ]

    def quoted(text: object) -> str:
        return '"' + str(text).replace('"', '""') + '"'

    path = make_input(tmp_path, csv_lines(*(",".join(map(quoted, user)) for user in users)))
    loaded_summary(run_seed(path, empty_table))
    assert table_rows() == sorted(row(*user) for user in users)


def test_duplicate_rows_in_a_file_load_once(empty_table: dict[str, str], tmp_path: Path) -> None:
    path = make_input(tmp_path, csv_lines(GOOD, GOOD))
    summary = loaded_summary(run_seed(path, empty_table))
    assert " 2 rows read, 1 inserted, 1 already present" in summary
    assert table_rows() == [row("Ann Lee", "ann@x.com", 30)]


# ------------------------------------------------------------ a million rows

BIG_ROWS = 1_000_000


@pytest.fixture(scope="module")
def million_and_one(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A million good rows, then one bad one on line 1,000,002."""
    path = tmp_path_factory.mktemp("big") / "million.csv"
    chunk = 100_000
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        for start in range(0, BIG_ROWS, chunk):
            handle.write(
                "".join(
                    f'"User {n}","user{n}@example.com","{n % 100}"\n'
                    for n in range(start, start + chunk)
                )
            )
        handle.write('"Last","last@example.com","old"\n')
    return path


def test_one_bad_row_after_a_million_good_ones_changes_nothing(
    seeded: dict[str, str], million_and_one: Path
) -> None:
    before = table_rows()
    result = run_script("seed.py", str(million_and_one), env=seeded, timeout=300)
    (error,) = error_lines(result)
    assert error == (
        f"error: {million_and_one}: line 1000002: field 'age' is not an age "
        "from 0 to 999.99 with at most two decimals: 'old'"
    )
    assert table_rows() == before

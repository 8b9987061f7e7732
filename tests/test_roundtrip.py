"""Property: any valid CSV file reads back through stream_users() exactly as csv reads it.

Hypothesis writes random valid files (any Unicode, astral, combining, RTL and
zero-width characters included; tabs, backslashes, ``\\N``, quotes, CR and LF
inside quoted fields; fields of exactly 255 characters, multi-byte included;
ages from 0 to 999.99; a BOM or not; CRLF or LF; columns in any order;
e-mails repeated with another case or surrounding spaces) and loads each one
through every load path: MySQL's ``LOAD DATA LOCAL INFILE``, MySQL's batched
inserts (``LOAD_METHOD=insert``) and SQLite's batched inserts. What
``stream_users()`` then yields must be what Python's ``csv`` module reads
from the file, the first row of each user winning.

The example count comes from the Hypothesis profile chosen in conftest.py:
modest by default, ``HYPOTHESIS_PROFILE=long`` for a long run (see docs/testing.md).
"""

from __future__ import annotations

import csv
import io
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seed

COLUMNS = ("name", "email", "age")
FIELD_MAX = 255  # characters, as the VARCHAR(255) columns hold
# Characters a loader is likely to get wrong, mixed into otherwise random text.
TRICKY = [
    "\t",
    "\\",
    "\\N",
    '"',
    ",",
    "\r",
    "\n",
    "\r\n",
    "'",
    "`",
    ";",
    "\u200b",
    "\u200d",
    "\u2060",
    "\ufeff",  # zero-width space, joiner, word joiner, BOM
    "\u200f",
    "\u05d0\u05d1",
    "\u0627\u0644",  # right-to-left mark, Hebrew, Arabic
    "e\u0301",
    "\u0308",  # combining accents
    "\U0001f600",
    "\U0001f468\u200d\U0001f469",
    "\U00010348",
    "\U0010fffd",  # astral
    "日本",
    "ß",
    "İ",
    "ǅ",  # CJK, case mappings that are not one-to-one
]
ANY_CHARACTER = st.characters(codec="utf-8", exclude_characters="\x00")
FILLERS = ["a", "é", "日", "\U0001f600", " "]


def clip(text: str) -> str:
    return text[:FIELD_MAX]


def fill_to_limit(text: str, filler: str) -> str:
    """``text`` padded with ``filler`` to exactly FIELD_MAX characters."""
    return (text + filler * FIELD_MAX)[:FIELD_MAX]


PIECES = st.one_of(ANY_CHARACTER, st.sampled_from(TRICKY))
SHORT_TEXT = st.lists(PIECES, min_size=1, max_size=20).map("".join).map(clip)
FULL_TEXT = st.builds(fill_to_limit, SHORT_TEXT, st.sampled_from(FILLERS))
# A value seed.py accepts: at most 255 characters, not blank.
FIELD = st.one_of(SHORT_TEXT, SHORT_TEXT, FULL_TEXT).filter(lambda text: text.strip())
AGE = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,2})?", fullmatch=True)


@st.composite
def email_variant(draw: st.DrawFn, email: str) -> str:
    """The same user's e-mail written another way: other case, spaces around it."""
    cased = draw(st.sampled_from([email, email.upper(), email.lower(), email.swapcase()]))
    before, after = draw(st.sampled_from(["", " ", "\t", "  "])), draw(st.sampled_from(["", " "]))
    variant = before + cased + after
    return variant if len(variant) <= FIELD_MAX else email


@st.composite
def users(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """Rows of (name, email, age); some repeat an earlier user's e-mail."""
    rows: list[tuple[str, str, str]] = []
    for _ in range(draw(st.integers(0, 12))):
        if rows and draw(st.integers(0, 4)) == 0:
            email = draw(email_variant(draw(st.sampled_from(rows))[1]))
        else:
            email = draw(FIELD)
        rows.append((draw(FIELD), email, draw(AGE)))
    return rows


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A valid file: the columns in any order, any quoting, either line ending."""
    order = draw(st.permutations(COLUMNS))
    header = [draw(st.sampled_from([name, name.upper(), f" {name} "])) for name in order]
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in draw(users())]
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if terminator == "\n" and any("\r" in value for row in rows for value in row.values()):
        quoting = csv.QUOTE_ALL  # csv.writer quotes only the terminator's own characters
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    writer.writerows([row[name] for name in order] for row in rows)
    content = text.getvalue()
    if draw(st.booleans()):  # the curriculum's own file has no newline at the end
        content = content.rstrip("\r\n") if content.count("\n") > 1 else content
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + content.encode("utf-8")


def expected_users(path: Path) -> list[dict]:
    """What csv reads from ``path``, first row of each user winning, in user_id order."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        positions = [name.strip().lower() for name in next(reader)]
        users: dict[str, dict] = {}
        for fields in reader:
            if not fields:
                continue
            name, email, age = (fields[positions.index(column)] for column in COLUMNS)
            user_id = seed.user_id_for(email)
            users.setdefault(
                user_id, {"user_id": user_id, "name": name, "email": email, "age": Decimal(age)}
            )
    return [users[user_id] for user_id in sorted(users)]


LOAD_PATHS = [
    pytest.param("sqlite", "insert", id="sqlite batches"),
    pytest.param("mysql", "load-data", id="mysql LOAD DATA"),
    pytest.param("mysql", "insert", id="mysql batches"),
]


@pytest.mark.parametrize(("engine", "method"), LOAD_PATHS, indirect=["engine"])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=csv_files())
def test_any_valid_file_streams_back_exactly_as_csv_reads_it(
    db_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    engine: str,
    method: str,
    content: bytes,
) -> None:
    monkeypatch.setenv("LOAD_METHOD", method)
    path = tmp_path / "users.csv"
    path.write_bytes(content)

    with seed.prodev_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("DROP TABLE IF EXISTS user_data")
        with redirect_stdout(io.StringIO()):
            seed.create_table(connection)
        seed.insert_data(connection, path)
        if engine == "mysql":  # the setting chose the load path it names
            cursor.execute("SHOW SESSION STATUS LIKE 'Com_load'")
            assert int(cursor.fetchall()[0][1]) == (method == "load-data")
        cursor.close()

    assert list(load("0-stream_users").stream_users()) == expected_users(path)

"""Reading the users' CSV file: every row validated, in constant memory.

A valid file has a header naming the columns ``name``, ``email`` and ``age``
once each, in any order, then one user a record: a name and an e-mail of 1
to 255 characters of valid UTF-8 without NUL, and an age from 0 to 999.99
with at most two decimals. Blank lines are skipped. A user's ``user_id`` is
the UUID-5 of the trimmed, lower-cased e-mail in a fixed namespace, so every
machine and every re-run gives the same id to the same user.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator, Sequence
from functools import lru_cache
from hashlib import sha1
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple, TextIO

from prodev.errors import SetupError, printable, shown
from prodev.schema import EMAIL_MAX, NAME_MAX

COLUMNS = ("name", "email", "age")
LIMITS = {"name": NAME_MAX, "email": EMAIL_MAX}
# ASCII digits only: \d would also take "١٢" (Arabic-Indic), which no column stores.
AGE_SYNTAX = r"[0-9]{1,3}(?:\.[0-9]{1,2})?"  # fits DECIMAL(5, 2), >= 0
AGE_PATTERN = re.compile(AGE_SYNTAX)
ERRORS_SHOWN = 5  # bad lines named before the rest are only counted
# The longest header line read: a valid one is three names, and reading a
# 30 MB one whole, then splitting it, would take a gigabyte.
HEADER_MAX = 1 << 20
USER_ID_NAMESPACE = uuid.UUID("7d4bd4b6-6c57-4a43-9f61-2f0c3f0e5a11")
_NAMESPACE_BYTES = USER_ID_NAMESPACE.bytes
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
# The strict form strict_blocks reads fast (see there).
STRICT_BLOCK = 1 << 20  # bytes read at a time
STRICT_HEADER = re.compile("\ufeff?" + ",".join(f'"{name}"' for name in COLUMNS) + r"\r?\n")
# No strict field holds a quote (so no CSV escaping), a backslash or an ASCII
# control character (so a newline ends every line, and no NUL).
STRICT_EXCLUDED = '"\\' + "".join(map(chr, range(32))) + "\x7f"


class User(NamedTuple):
    """One validated CSV row, with its user_id; age is the validated decimal text."""

    user_id: str
    name: str
    email: str
    age: str


def user_id_for(email: str) -> str:
    """The deterministic user_id of a user: UUID-5 of the normalised e-mail.

    Equal to ``str(uuid.uuid5(USER_ID_NAMESPACE, email.strip().lower()))``,
    spelt out with hashlib because seeding computes one per row and this is
    several times faster than building UUID objects.
    """
    digest = sha1(_NAMESPACE_BYTES + email.strip().lower().encode()).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-"
        f"{_UUID_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:32]}"
    )


def problem(values: Sequence[str]) -> str | None:
    """What is wrong with one record's (name, email, age), or None if it is valid.

    The one statement of the rules: the loader tests rows with it, and the
    error messages quote what it says.
    """
    if len(values) != len(COLUMNS):
        return f"expected {len(COLUMNS)} fields, found {len(values)}"
    for column, value in zip(COLUMNS, values, strict=True):
        if not value.strip():
            return f"field {column!r} is empty"
        if "\x00" in value:
            return f"field {column!r} contains a NUL byte: {shown(value)}"
        if not value.isascii() and not _is_utf8(value):
            return f"field {column!r} is not valid UTF-8: {shown(value)}"
        if len(value) > LIMITS.get(column, len(value)):
            return f"field {column!r} is longer than {LIMITS[column]} characters: {shown(value)}"
    age = values[2]
    if not AGE_PATTERN.fullmatch(age):
        return f"field 'age' is not an age from 0 to 999.99 with at most two decimals: {shown(age)}"
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")  # fails on bytes that surrogateescape smuggled in
    except UnicodeEncodeError:
        return False
    return True


def read_users(path: Path) -> Iterator[User]:
    """Yield the file's users, validated, in file order, in constant memory.

    Every row is checked; bad rows are collected rather than yielded, and once
    the file is read a SetupError names the first few (file, line, field,
    value) and counts the rest. A record the csv module cannot parse (a stray
    quote) ends the reading and is added to that list. A consumer that commits
    only after this generator is exhausted therefore commits nothing from a
    bad file.
    """
    where = printable(path)
    errors: list[str] = []
    bad_lines = 0
    try:
        for line, values in _records(path, where):
            wrong = problem(values)
            if wrong is None:
                name, email, age = values
                yield User(user_id_for(email), name, email, age)
                continue
            bad_lines += 1
            if len(errors) < ERRORS_SHOWN:
                errors.append(f"{where}: line {line}: {wrong}")
    except _Malformed as broken:
        bad_lines += 1
        if len(errors) < ERRORS_SHOWN:
            errors.append(f"{where}: line {broken.line}: malformed CSV: {broken.reason}")
    if bad_lines:
        more = bad_lines - len(errors)
        raise SetupError(
            "\n".join(errors + ([f"{where}: and {more} more bad lines"] if more else []))
        )


class _Malformed(Exception):
    """The csv module gave up on the record that starts at ``line``."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(line, reason)
        self.line = line
        self.reason = reason


def _records(path: Path, where: str) -> Iterator[tuple[int, Sequence[str]]]:
    """Yield (first line number, (name, email, age)) for each data record.

    A record with the wrong number of fields is yielded as it is, for problem().
    """
    if path.is_dir():
        raise SetupError(f"{where}: is a directory, not a CSV file")
    try:
        # surrogateescape keeps undecodable bytes, so problem() can name the line.
        handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as error:
        raise SetupError(f"{where}: cannot open: {error.strerror}") from None
    with handle:
        pick = itemgetter(*_column_order(where, _header(handle, where)))
        reader = csv.reader(handle, strict=True)
        line = 2
        try:
            for fields in reader:
                if fields:  # a blank line (often the last one) carries no user
                    yield line, pick(fields) if len(fields) == len(COLUMNS) else fields
                line = reader.line_num + 2  # line_num counts from the line after the header
        except csv.Error as error:
            # line is where the broken record starts; a stray quote can make
            # the csv module give up many lines later.
            raise _Malformed(line, str(error)) from None


def _header(handle: TextIO, where: str) -> list[str]:
    """The fields of the first line, read in bounded memory however long it is."""
    first = handle.readline(HEADER_MAX + 1)
    if not first:
        raise SetupError(f'{where}: the file is empty; expected a header "name","email","age"')
    if len(first) > HEADER_MAX:
        raise SetupError(
            f"{where}: line 1: the header is longer than {HEADER_MAX:,} characters; "
            f'expected "name","email","age": {shown(first)}'
        )
    try:
        return next(csv.reader([first], strict=True), [])
    except csv.Error as error:
        raise SetupError(f"{where}: line 1: malformed CSV header: {error}") from None


def _column_order(where: str, header: list[str]) -> list[int]:
    """Positions of name, email and age in the header, which may list them in any order."""
    columns = [name.strip().lower() for name in header]
    if sorted(columns) != sorted(COLUMNS):
        listed = header[: len(COLUMNS) + 2]
        found = ", ".join(map(shown, listed)) or "nothing"
        if len(header) > len(listed):
            found += f", ... ({len(header):,} columns)"
        raise SetupError(
            f"{where}: line 1: the header must name the columns name, email, age once each "
            f"(in any order, nothing else); found: {found}"
        )
    return [columns.index(name) for name in COLUMNS]


class NotStrict(Exception):
    """A file, or a line of it, outside the strict form strict_blocks reads."""


def strict_blocks(
    path: Path, excluded: str = ""
) -> Iterator[tuple[list[tuple[str, str, str]], int]]:
    """Yield the (name, email, age) of every row, a block at a time, fast; or raise NotStrict.

    The strict form is the curriculum sample's: the header "name","email","age",
    every field quoted and valid by problem()'s rules (LIMITS, AGE_SYNTAX), no
    field starting with whitespace or holding a character of STRICT_EXCLUDED
    or of ``excluded`` (what the caller would otherwise have to escape),
    valid UTF-8, a newline after each line but maybe the last. Every such row
    is valid and reads exactly as read_users reads it, so one regular
    expression over a block of lines validates and extracts all its rows.
    At the first line outside that form (a bad row, or an unusual but valid
    one) NotStrict is raised, and the caller reads the file with read_users,
    which applies every rule and names bad lines. Also yields the bytes read.
    """
    strict_row = _strict_row(excluded)
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError:
        raise NotStrict from None  # read_users says why
    with handle:
        header, tail = None, b""
        while (block := handle.read(STRICT_BLOCK)) or tail:
            data = tail + block
            lines, tail = _whole_lines(data, at_end=not block)
            if not lines:
                continue  # no newline yet: a short file's one line, read at the end
            try:
                text = lines.decode()
            except UnicodeDecodeError:
                raise NotStrict from None
            if header is None:
                header = STRICT_HEADER.match(text)
                if header is None:
                    raise NotStrict
                text = text[header.end() :]
            rows = strict_row.findall(text)
            if len(rows) != text.count("\n"):  # ^ anchors every match at a line start
                raise NotStrict
            yield rows, len(data) - len(tail)  # not len(lines): a last newline may be added
    if header is None:
        raise NotStrict  # an empty file


def _whole_lines(data: bytes, at_end: bool) -> tuple[bytes, bytes]:
    """Split ``data`` after its last newline (the file's last line may lack one)."""
    if at_end:
        return (data if data.endswith(b"\n") else data + b"\n"), b""
    cut = data.rfind(b"\n") + 1
    if not cut and len(data) > STRICT_BLOCK:
        raise NotStrict  # a line longer than a block is no strict row
    return data[:cut], data[cut:]


@lru_cache
def _strict_row(excluded: str) -> re.Pattern[str]:
    """A data line in the strict form, as problem() would pass it; see strict_blocks."""
    never = re.escape(STRICT_EXCLUDED + excluded)
    fields = {
        column: f'"([^\\s{never}][^{never}]{{0,{limit - 1}}})"' for column, limit in LIMITS.items()
    }
    fields["age"] = f'"({AGE_SYNTAX})"'
    # ^ with MULTILINE: strict_blocks counts matches against lines.
    return re.compile("^" + ",".join(fields[column] for column in COLUMNS) + r"\r?\n", re.MULTILINE)

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
from hashlib import sha1
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from prodev.errors import SetupError
from prodev.schema import EMAIL_MAX, NAME_MAX

COLUMNS = ("name", "email", "age")
LIMITS = {"name": NAME_MAX, "email": EMAIL_MAX}
AGE_PATTERN = re.compile(r"\d{1,3}(\.\d{1,2})?")  # fits DECIMAL(5, 2), >= 0
ERRORS_SHOWN = 5  # bad lines named before the rest are only counted
USER_ID_NAMESPACE = uuid.UUID("7d4bd4b6-6c57-4a43-9f61-2f0c3f0e5a11")
_NAMESPACE_BYTES = USER_ID_NAMESPACE.bytes
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


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
            return f"field {column!r} contains a NUL byte: {value!r}"
        if not value.isascii() and not _is_utf8(value):
            return f"field {column!r} is not valid UTF-8: {value!r}"
        if len(value) > LIMITS.get(column, len(value)):
            return f"field {column!r} is longer than {LIMITS[column]} characters: {value[:40]!r}..."
    age = values[2]
    if not AGE_PATTERN.fullmatch(age):
        return f"field 'age' is not an age from 0 to 999.99 with at most two decimals: {age!r}"
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
    value) and counts the rest. A consumer that commits only after this
    generator is exhausted therefore commits nothing from a bad file.
    """
    errors: list[str] = []
    bad_lines = 0
    for line, values in _records(path):
        wrong = problem(values)
        if wrong is None:
            name, email, age = values
            yield User(user_id_for(email), name, email, age)
            continue
        bad_lines += 1
        if len(errors) < ERRORS_SHOWN:
            errors.append(f"{path}: line {line}: {wrong}")
    if bad_lines:
        more = bad_lines - len(errors)
        raise SetupError(
            "\n".join(errors + ([f"{path}: and {more} more bad lines"] if more else []))
        )


def _records(path: Path) -> Iterator[tuple[int, Sequence[str]]]:
    """Yield (first line number, (name, email, age)) for each data record.

    A record with the wrong number of fields is yielded as it is, for problem().
    """
    if path.is_dir():
        raise SetupError(f"{path}: is a directory, not a CSV file")
    try:
        # surrogateescape keeps undecodable bytes, so problem() can name the line.
        handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as error:
        raise SetupError(f"{path}: cannot open: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        line = 1
        try:
            header = next(reader, None)
            if header is None:
                raise SetupError(
                    f'{path}: the file is empty; expected a header "name","email","age"'
                )
            pick = itemgetter(*_column_order(path, header))
            line = reader.line_num + 1
            for fields in reader:
                if fields:  # a blank line (often the last one) carries no user
                    yield line, pick(fields) if len(fields) == len(COLUMNS) else fields
                line = reader.line_num + 1
        except csv.Error as error:
            # line is where the broken record starts; a stray quote can make
            # the csv module give up many lines later.
            raise SetupError(f"{path}: line {line}: malformed CSV: {error}") from None


def _column_order(path: Path, header: list[str]) -> list[int]:
    """Positions of name, email and age in the header, which may list them in any order."""
    columns = [name.strip().lower() for name in header]
    if sorted(columns) != sorted(COLUMNS):
        raise SetupError(
            f"{path}: line 1: the header must name the columns name, email, age once each "
            f"(in any order, nothing else); found: {', '.join(header) or 'nothing'}"
        )
    return [columns.index(name) for name in COLUMNS]

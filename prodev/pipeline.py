"""What lesson 7's pipeline of generators needs beyond plain generators.

A pipeline is a chain of generators, each pulling rows from the one before
it (David Beazley's shape). ``@stage`` adds two things a bare chain lacks:

- Closing reaches the source at once. When a stage is closed (the consumer
  stopped: ``close()``, ``break``, ``islice`` let go, a write to a closed
  pipe), it closes the stage it reads from, explicitly, and so on up to
  ``stream_users()``, whose connection closes without reading the rows
  nobody asked for. Nothing waits for the garbage collector.
- An error in a stage names the stage and the row. An exception raised
  while a stage handles a row becomes a one-line ``StageError``:
  ``keep_adults: row 17 (user_id '...'): TypeError: ...``. An error from
  upstream passes through unchanged, so only the stage that failed is named;
  an error before the first row (a bad argument) is the caller's and is
  raised as it is.

The command-line parts of the export are here too: ``older_than`` reads
``--older-than AGE``, ``stdout_to_a_pipe`` ends quietly when the reader
of the output goes away. ``check_size`` is the lessons' argument check.

``stage`` keeps the function's name and signature, and the wrapper is itself
a generator function, so ``inspect.isgeneratorfunction`` still holds.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from prodev.config import check_size
from prodev.errors import SHOWN_CHARS, SetupError, printable, shown, stdout_to_a_pipe

Out = TypeVar("Out")
Stage = Callable[..., Iterator[Out]]

__all__ = ["StageError", "check_size", "older_than", "stage", "stdout_to_a_pipe"]


class StageError(SetupError):
    """A stage of a pipeline failed on a row; the message names both."""


class _Feed:
    """The rows one stage reads, remembering how many it took and the last."""

    __slots__ = ("failure", "row", "taken", "upstream")

    def __init__(self, upstream: Iterable[Any]) -> None:
        self.upstream = upstream
        self.taken = 0
        self.row: Any = None
        self.failure: BaseException | None = None

    def rows(self) -> Iterator[Any]:
        """Yield the upstream rows, noting each, and any error upstream raises."""
        try:
            for row in self.upstream:
                self.row = row
                self.taken += 1
                yield row
        except Exception as error:
            self.failure = error
            raise

    def where(self) -> str:
        """``row 17 (user_id '...')``: the row the stage was handling."""
        row = self.row
        if isinstance(row, Mapping) and row:
            key, value = next(iter(row.items()))
            return f"row {self.taken} ({key} {shown(str(value))})"
        text = repr(row)  # repr escapes control characters: one line
        if len(text) > SHOWN_CHARS:
            text = f"{text[:SHOWN_CHARS]}..."
        return f"row {self.taken} ({text})"


def stage(function: Stage[Out]) -> Stage[Out]:
    """Make generator function ``function(rows, ...)`` a stage of a pipeline.

    The stage yields what ``function`` yields. Closing it closes ``rows``
    too (when it can be closed); see the module docstring for errors.
    """

    @functools.wraps(function)
    def run(rows: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Out]:
        feed = _Feed(rows)
        try:
            yield from function(feed.rows(), *args, **kwargs)
        except Exception as error:
            if error is feed.failure or not feed.taken:
                raise
            raise StageError(
                f"{function.__name__}: {feed.where()}: {type(error).__name__}: {printable(error)}"
            ) from error
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    return run


def age(text: str) -> int:
    """An age given on the command line: a whole number from 0."""
    return check_size("age", int(text), minimum=0)


class CommandLine(argparse.ArgumentParser):
    """An argument parser whose errors are the project's one line."""

    def error(self, message: str) -> Any:
        """Print ``error: message`` and exit 2, without the usage lines."""
        self.exit(2, f"error: {message}\n")


def older_than(description: str, argv: list[str] | None = None) -> int:
    """Parse ``[--older-than AGE]`` (default 25) from the command line.

    ``description``: the command's docstring, whose first line ``--help``
    shows. A bad age is one line ``error: ...`` and exit status 2.
    """
    parser = CommandLine(description=description.splitlines()[0])
    parser.add_argument(
        "--older-than",
        type=age,
        default=25,
        metavar="AGE",
        help="export the users strictly older than AGE (default 25)",
    )
    return parser.parse_args(argv).older_than

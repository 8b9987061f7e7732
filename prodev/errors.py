"""The errors a user can act on, and the one line each is printed as.

Values from outside (a CSV field, a header, a file name) reach an error line
only through ``shown`` or ``printable``: quoted or escaped, so no control
character reaches the terminal, and cut, so a huge value gives a short line.
A reader that stops early (``| head``) is no error at all: ``stdout_to_a_pipe``
ends a command quietly then.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

SHOWN_CHARS = 40  # characters of a value an error line quotes


class SetupError(Exception):
    """A failure the user can fix (configuration, server, input file).

    Its message is one line (or a few, for several bad CSV lines) and never
    contains a password. Entry points print it instead of a traceback.
    """


class BadArgument(SetupError):
    """An argument a lesson refused before any connection or SQL (a size, an offset).

    Its subclasses are also the ``ValueError``/``TypeError`` that Python code
    expects, and, being SetupErrors, an uncaught one prints as one line.
    """


class BadValue(BadArgument, ValueError):
    """An argument of the right type whose value is out of range."""


class BadType(BadArgument, TypeError):
    """An argument of the wrong type."""


class ConnectionLost(SetupError):
    """The server went away in the middle of a query (crash, restart, failover)."""


class TryAgain(SetupError):
    """The transaction lost a lock wait or a deadlock (on Galera: certification)
    and was rolled back; running it again is the server's own advice."""


def report(error: SetupError) -> None:
    """Print ``error`` as the entry points do: ``error: <message>`` on stderr."""
    print(f"error: {error}", file=sys.stderr)


def shown(value: str) -> str:
    """``value`` for an error line: repr-quoted, cut after SHOWN_CHARS characters."""
    if len(value) <= SHOWN_CHARS:
        return repr(value)
    return f"{value[:SHOWN_CHARS]!r}... ({len(value):,} characters)"


def printable(text: object) -> str:
    """A path or name as it can be printed on any terminal and encoding.

    Printable text is left as it is; otherwise control characters and bytes
    that are not UTF-8 (a file name can hold any) are backslash-escaped.
    """
    text = str(text)
    return text if text.isprintable() else repr(text)[1:-1]


@contextmanager
def stdout_to_a_pipe() -> Iterator[TextIO]:
    """Standard output, for a command whose reader may stop early (``| head``).

    When the reader has gone, the write that notices raises BrokenPipeError
    and the pipeline is closed by then; this ends the command quietly
    instead. Python flushes stdout once more at exit, which would fail and
    print "Exception ignored"; /dev/null in its place takes that flush.
    """
    try:
        yield sys.stdout
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

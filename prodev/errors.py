"""The errors a user can act on, and the one line each is printed as."""

import sys


class SetupError(Exception):
    """A failure the user can fix (configuration, server, input file).

    Its message is one line (or a few, for several bad CSV lines) and never
    contains a password. Entry points print it instead of a traceback.
    """


class ConnectionLost(SetupError):
    """The server went away in the middle of a query (crash, restart, failover)."""


def report(error: SetupError) -> None:
    """Print ``error`` as the entry points do: ``error: <message>`` on stderr."""
    print(f"error: {error}", file=sys.stderr)

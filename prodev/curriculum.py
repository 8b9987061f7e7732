"""What the curriculum's drivers need from the process, in one place.

The drivers are part of the contract and are run exactly as written, so two
things that a library would not do are done here, and only here:

- ``stream_users = __import__('0-stream_users')`` followed by
  ``stream_users()`` calls the *module*: ``callable_module`` makes a module
  callable, in the way the Python documentation describes for customising
  module attribute access (assigning a ``ModuleType`` subclass to its
  ``__class__``).
- The drivers do not catch our errors, so an unreachable server would end
  them with a traceback. ``one_line_errors`` installs an ``excepthook`` that
  prints a ``SetupError`` as the single line ``error: ...`` (exit status 1,
  as for any uncaught exception) and leaves every other exception to the
  hook that was there before. ``seed`` calls it when imported, which every
  driver does, directly or through a lesson.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from prodev.errors import SetupError, report


def callable_module(module_name: str, function: Callable[[], Any]) -> None:
    """Make the module registered as ``module_name`` call ``function`` when called.

    A module loaded from a spec without being registered in ``sys.modules``
    is left as it is: its functions are what such a loader uses.
    """
    module = sys.modules.get(module_name)
    if module is None or getattr(module, function.__name__, None) is not function:
        return

    class CallableModule(types.ModuleType):
        def __call__(self) -> Any:
            return function()

    module.__class__ = CallableModule


def one_line_errors() -> None:
    """Print uncaught SetupErrors as one line, without a traceback. Idempotent."""
    if getattr(sys.excepthook, "__wrapped__", None) is not None:
        return
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        if isinstance(error, SetupError):
            report(error)
        else:
            previous(kind, error, trace)

    excepthook.__wrapped__ = previous  # type: ignore[attr-defined]
    sys.excepthook = excepthook

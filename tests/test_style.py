"""The curriculum's style checks on every graded file, with no server.

The track grades ``seed.py`` and every numbered lesson with ``pycodestyle``
at its defaults (79 columns), wants ``#!/usr/bin/env python3`` as the first
line, the executable bit, and a docstring on the module and every function.
The lessons are found by name, so a lesson added later is checked too; the
curriculum's own drivers (``0-main.py`` ... ``3-main.py``) are not graded.
"""

from __future__ import annotations

import ast
import os

import pycodestyle
import pytest
from conftest import ROOT, load

LESSONS = sorted(
    path.name for path in ROOT.glob("[0-9]-*.py") if not path.name.endswith("-main.py")
)
GRADED = ["seed.py", *LESSONS]


def test_every_lesson_is_found() -> None:
    assert {"0-stream_users.py", "4-stream_ages.py"} <= set(LESSONS)
    assert not any(name.endswith("-main.py") for name in GRADED)


@pytest.mark.parametrize("name", GRADED)
def test_passes_pycodestyle_at_its_defaults(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bare Checker: no configuration file, no options, as the grader runs it.
    problems = pycodestyle.Checker(str(ROOT / name)).check_all()
    assert problems == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", GRADED)
def test_starts_with_the_shebang_and_is_executable(name: str) -> None:
    path = ROOT / name
    assert path.read_text(encoding="utf-8").splitlines()[0] == "#!/usr/bin/env python3"
    assert os.access(path, os.X_OK)


@pytest.mark.parametrize("name", GRADED)
def test_the_module_and_every_function_have_a_docstring(name: str) -> None:
    tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    missing = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, functions) and not (ast.get_docstring(node) or "").strip()
    ]
    assert (ast.get_docstring(tree) or "").strip(), "no module docstring"
    assert not missing, f"no docstring: {', '.join(missing)}"


def test_the_command_line_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    main = load("main")
    with pytest.raises(SystemExit) as exit_status:
        main.main(["--help"])
    help_text = capsys.readouterr().out
    assert exit_status.value.code == 0
    assert "python3 main.py N" in help_text and "``" not in help_text

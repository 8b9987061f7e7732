"""Fresh virtualenvs holding only what the curriculum names, one per environment.

A grader runs the numbered files in whatever Python they have, with whatever
``pip install mysql-connector-python python-dotenv`` gave them. An
environment here is that: one Python from pyenv, one driver release, and
nothing else (no tqdm, no project venv, no PYTHONPATH). ``build_all`` makes
every environment's venv in a temporary folder, several at a time (pip spends
much of its time waiting on files), and nothing is reused between runs.

``tests/test_compat.py`` runs the curriculum's drivers in them;
``bench/compat.py`` measures speed in them. Both take the project to run from
``COMPAT_PROJECT`` (default: this repository), so another checkout can be
tried with the same harness.

Which environments: ``ENVIRONMENTS`` by default. ``COMPAT_RELEASES=all``
adds every ``mysql-connector-python`` release from 8.0.33 to the newest one
pip offers, on Python 3.11, each with its C extension and on pure Python
(``MYSQL_USE_PURE=1``): about 30 environments, for a release check by hand,
not for CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
OLDEST = "8.0.33"  # the oldest release the project supports
PIP_TIMEOUT = 600  # seconds for one venv's install
BUILDERS = 4  # venvs built at once
# What a copy of the project leaves out: the project's own venv, caches,
# databases and settings of whoever ran it last.
NOT_COPIED = (".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "*.sqlite3*",
              ".env", "results")


@dataclass(frozen=True)
class Environment:
    """One Python minor version, one driver release, C extension or pure Python."""

    python: str  # "3.11"
    driver: str  # "9.7.0"
    pure: bool = False  # MYSQL_USE_PURE=1: the project asks for the pure Python driver

    @property
    def name(self) -> str:
        """``py3.11-9.7.0`` or ``py3.11-9.7.0-pure``, for test ids and reports."""
        return f"py{self.python}-{self.driver}" + ("-pure" if self.pure else "")

    @property
    def venv_key(self) -> tuple[str, str]:
        """Environments that differ only in MYSQL_USE_PURE install the same packages."""
        return self.python, self.driver


ENVIRONMENTS = (
    *(Environment("3.11", driver) for driver in ("8.0.33", "8.4.0", "9.0.0", "9.3.0")),
    *(Environment(python, "26.10.0") for python in ("3.10", "3.11", "3.12", "3.13")),
    Environment("3.11", "9.7.0"),
    Environment("3.11", "9.7.0", pure=True),
)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def released_drivers(python: Path) -> list[str]:
    """Every mysql-connector-python release from OLDEST up, as ``pip index`` lists them."""
    listing = subprocess.run(
        [str(python), "-m", "pip", "index", "versions", "mysql-connector-python"],
        capture_output=True, text=True, timeout=PIP_TIMEOUT, check=True,
    ).stdout
    found = re.search(r"Available versions: (.*)", listing)
    versions = found[1].split(", ") if found else []
    return sorted((v for v in versions if _version(v) >= _version(OLDEST)), key=_version)


def selected_environments() -> list[Environment]:
    """``ENVIRONMENTS``, plus every release since OLDEST with ``COMPAT_RELEASES=all``."""
    chosen = list(ENVIRONMENTS)
    if os.environ.get("COMPAT_RELEASES") == "all":
        python = find_python("3.11")
        if python is None:
            raise BuildError("COMPAT_RELEASES=all needs Python 3.11 in pyenv")
        for driver in released_drivers(python):
            chosen += [Environment("3.11", driver), Environment("3.11", driver, pure=True)]
    return list(dict.fromkeys(chosen))


class BuildError(Exception):
    """A venv could not be made: the Python is missing or pip failed."""


def find_python(minor: str) -> Path | None:
    """The newest pyenv Python ``minor``.x, or None."""
    candidates = [
        path / "bin" / "python3"
        for path in PYENV.glob(f"{minor}.*")
        if re.fullmatch(rf"{re.escape(minor)}\.\d+", path.name)
    ]
    candidates = [path for path in candidates if path.exists()]
    return max(candidates, key=lambda path: _version(path.parent.parent.name), default=None)


def dotenv_requirement() -> str:
    """python-dotenv as requirements.txt pins it (the driver's pin is the environment's)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith("python-dotenv"):
            return line.strip()
    return "python-dotenv"


def build_venv(python: str, driver: str, folder: Path) -> Path:
    """A new venv in ``folder`` with only the driver and python-dotenv; its python."""
    interpreter = find_python(python)
    if interpreter is None:
        raise BuildError(f"Python {python} is not installed in {PYENV}")
    steps = (
        [str(interpreter), "-m", "venv", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", f"mysql-connector-python=={driver}", dotenv_requirement()],
    )
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False,
                env=clean_env(),
            )
        except subprocess.TimeoutExpired:
            raise BuildError(f"{' '.join(step[2:5])} took over {PIP_TIMEOUT} s") from None
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
            raise BuildError(f"{' '.join(step[2:5])}: {(errors or [done.stderr.strip()])[-1]}")
    return folder / "bin" / "python"


def build_all(
    environments: Iterable[Environment], base: Path
) -> dict[Environment, Path | BuildError]:
    """Each environment's venv python (or why it could not be built), built in parallel."""
    environments = list(environments)
    keys = list(dict.fromkeys(env.venv_key for env in environments))

    def build(key: tuple[str, str]) -> Path | BuildError:
        try:
            return build_venv(*key, base / f"py{key[0]}-{key[1]}")
        except BuildError as error:
            return error

    with ThreadPoolExecutor(max_workers=BUILDERS) as pool:
        built = dict(zip(keys, pool.map(build, keys), strict=True))
    return {env: built[env.venv_key] for env in environments}


def project_dir() -> Path:
    """The project the harness runs: ``COMPAT_PROJECT``, else this repository."""
    return Path(os.environ.get("COMPAT_PROJECT") or ROOT).resolve()


def copy_project(destination: Path, source: Path | None = None) -> Path:
    """A copy of the project's files (no venv, caches, databases or .env) at ``destination``."""
    shutil.copytree(source or project_dir(), destination,
                    ignore=shutil.ignore_patterns(*NOT_COPIED))
    return destination


def clean_env(settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """A child's whole environment: PATH, HOME and locale from here, then ``settings``.

    Nothing else leaks in: no PYTHONPATH, no VIRTUAL_ENV, no MYSQL_* of the
    caller's, so a child sees only the settings it is given.
    """
    kept = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR") if key in os.environ}
    return {**kept, "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", **(settings or {})}


def env_settings(environment: Environment, database: dict[str, str]) -> dict[str, str]:
    """``database`` (DB_ENGINE, MYSQL_*, SQLITE_PATH) plus this environment's MYSQL_USE_PURE."""
    pure = {"MYSQL_USE_PURE": "1"} if environment.pure else {}
    return clean_env({**database, "MYSQL_HOSTS": "", **pure})

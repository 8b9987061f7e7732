#!/usr/bin/env python3
"""Write a deterministic CSV of users in the format of ``user_data.csv``.

The file has the header ``"name","email","age"``, every field quoted, ``\\n``
between lines and no newline after the last row, like the curriculum's sample.
Names have the same kind of parts as the sample (an optional title, first and
last name, an optional suffix), made of syllables; ages are integers from 1 to
120, and every email is distinct because its local part ends with the row number.

The same ``--rows`` and ``--seed`` always give a byte-identical file. Rows are
generated and written in chunks, so memory stays constant at any size.

Usage: ``python3 bench/make_data.py --rows 1000000 [--seed 0] [--out FILE]``
(without ``--out`` the CSV goes to standard output).
"""

import argparse
import random
import sys
from collections.abc import Iterator
from itertools import islice
from typing import TextIO

HEADER = '"name","email","age"'
CHUNK_ROWS = 10_000
MIN_AGE, MAX_AGE = 1, 120
TITLE_RATE, SUFFIX_RATE, HYPHEN_RATE = 0.13, 0.11, 0.05

# Names are built from syllables ("Dr. Brenai Tolumark-Vess"): a few short lists
# give thousands of first names and millions of last names, with no digits in them.
ONSETS = (*"bcdfghjklmnprstvwz", "br", "ch", "st", "tr")
VOWELS = (*"aeiou", "ai", "ea", "ee", "ou")
CODAS = ("", "", "", "", *"lmnrs", "ck", "rd", "th")
TITLES = ("Mr.", "Dr.", "Ms.", "Mrs.", "Miss")
SUFFIXES = ("Jr.", "Sr.", "I", "II", "III", "IV", "V", "MD", "PhD", "DDS", "DVM")
DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com")
EMAIL_SEPARATORS = ("", ".", "_")


def make_word(rng: random.Random, syllables: int) -> str:
    """Return a capitalised made-up word of ``syllables`` syllables, such as ``Tolumark``."""
    parts = (rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))
    return "".join(parts).capitalize()


def make_last_name(rng: random.Random) -> str:
    return make_word(rng, rng.randint(1, 3))


def make_name(rng: random.Random) -> str:
    """Return a person's name such as ``Dr. Brenai Tolumark-Vess``."""
    last = make_last_name(rng)
    if rng.random() < HYPHEN_RATE:
        last = f"{last}-{make_last_name(rng)}"
    parts = [make_word(rng, 2), last]
    if rng.random() < TITLE_RATE:
        parts.insert(0, rng.choice(TITLES))
    if rng.random() < SUFFIX_RATE:
        parts.append(rng.choice(SUFFIXES))
    return " ".join(parts)


def make_email(rng: random.Random, number: int) -> str:
    """Return an email whose local part ends with ``number``, hence distinct.

    Names contain no digits, so the trailing digits are exactly ``number``.
    """
    separator = rng.choice(EMAIL_SEPARATORS)
    last = make_last_name(rng) if separator else ""
    local = f"{make_word(rng, 2)}{separator}{last}{number}"
    return f"{local}@{rng.choice(DOMAINS)}"


def generate_lines(seed: int) -> Iterator[str]:
    """Yield CSV data lines (no line ending) forever, deterministic per seed."""
    rng = random.Random(seed)
    number = 0
    while True:
        number += 1
        age = rng.randint(MIN_AGE, MAX_AGE)
        yield f'"{make_name(rng)}","{make_email(rng, number)}","{age}"'


def write_csv(out: TextIO, rows: int, seed: int = 0) -> None:
    """Write the header and ``rows`` data lines to ``out``, in chunks."""
    out.write(HEADER)
    lines = generate_lines(seed)
    while chunk := list(islice(lines, min(CHUNK_ROWS, rows))):
        rows -= len(chunk)
        out.write("\n")
        out.write("\n".join(chunk))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", help="output file (default: standard output)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be zero or more")
    return args


def main(argv: list[str] | None = None) -> None:
    """Write the CSV described by the command line."""
    args = parse_args(argv)
    if args.out is None:
        write_csv(sys.stdout, args.rows, args.seed)
        return
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        write_csv(out, args.rows, args.seed)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a deterministic CSV of users in the format of ``user_data.csv``.

The file has the header ``"name","email","age"``, every field quoted, ``\\n``
between lines and no newline after the last row, like the curriculum's sample.
Names are built from the same kind of parts as the sample (an optional title,
first and last name, an optional suffix), ages are integers from 1 to 120, and
every email is distinct because its local part ends with the row number.

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

FIRST_NAMES = (
    "Aaron",
    "Abel",
    "Adrienne",
    "Alberta",
    "Alejandro",
    "Alexis",
    "Alfonso",
    "Alice",
    "Alma",
    "Alonzo",
    "Amanda",
    "Andres",
    "Angelina",
    "Annette",
    "Archie",
    "Arlene",
    "Armando",
    "Aubrey",
    "Belinda",
    "Bernadette",
    "Bertha",
    "Bethany",
    "Beverly",
    "Blanca",
    "Bobby",
    "Bradley",
    "Brittany",
    "Calvin",
    "Candace",
    "Cecilia",
    "Chelsea",
    "Clay",
    "Cora",
    "Dan",
    "Della",
    "Delbert",
    "Derrick",
    "Dominic",
    "Edmund",
    "Elsa",
    "Felicia",
    "Flora",
    "Gina",
    "Ida",
    "Isabel",
    "Jerome",
    "Jill",
    "Johnnie",
    "Justin",
    "Leon",
    "Lewis",
    "Lillie",
    "Marc",
    "Maria",
    "Miguel",
    "Molly",
    "Myra",
    "Myrtle",
    "Natalie",
    "Regina",
    "Rosie",
    "Ross",
    "Sabrina",
    "Seth",
    "Thelma",
    "Tyler",
    "Virgil",
    "Willie",
)
LAST_NAMES = (
    "Abbott",
    "Abernathy",
    "Abshire",
    "Altenwerth",
    "Anderson",
    "Ankunding",
    "Armstrong",
    "Aufderhar",
    "Bailey",
    "Balistreri",
    "Bartoletti",
    "Bashirian",
    "Batz",
    "Bauch",
    "Bechtelar",
    "Bednar",
    "Bergstrom",
    "Bogisich",
    "Bosco",
    "Boyle",
    "Brakus",
    "Breitenberg",
    "Buckridge",
    "Cassin",
    "Champlin",
    "Christiansen",
    "Collier",
    "Considine",
    "Corkery",
    "Cremin",
    "Crist",
    "Cummerata",
    "Dach",
    "Daugherty",
    "Deckow",
    "Dibbert",
    "Dickens",
    "Donnelly",
    "Durgan",
    "Emard",
    "Emmerich",
    "Feeney",
    "Funk",
    "Hane",
    "Hickle",
    "Jacobson",
    "Jaskolski",
    "Jast",
    "Kirlin",
    "Konopelski",
    "Kris",
    "Kuhic",
    "Kunde",
    "Lakin",
    "Lesch",
    "Mann",
    "Mayer",
    "Mraz",
    "Murray",
    "Nolan",
    "Pouros",
    "Reynolds",
    "Rohan",
    "Runolfsdottir",
    "Sauer",
    "Schinner",
    "Schmeler",
    "Senger",
    "Stokes",
    "Stoltenberg",
    "Walker",
)
TITLES = ("Mr.", "Dr.", "Ms.", "Mrs.", "Miss")
SUFFIXES = ("Jr.", "Sr.", "I", "II", "III", "IV", "V", "MD", "PhD", "DDS", "DVM")
DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com")
EMAIL_SEPARATORS = ("", ".", "_")


def make_name(rng: random.Random) -> str:
    """Return a person's name such as ``Dr. Cecilia Konopelski-Lakin``."""
    last = rng.choice(LAST_NAMES)
    if rng.random() < HYPHEN_RATE:
        last = f"{last}-{rng.choice(LAST_NAMES)}"
    parts = [rng.choice(FIRST_NAMES), last]
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
    last = rng.choice(LAST_NAMES) if separator else ""
    local = f"{rng.choice(FIRST_NAMES)}{separator}{last}{number}"
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

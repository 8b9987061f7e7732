#!/usr/bin/env python3
"""Task 4: aggregate a stream in constant memory.

``stream_user_ages()`` yields the ages of user_data one by one.
``calculate_average_age()`` folds that stream into a count and an exact sum
as it goes, holding one age at a time, and returns the mean as a
``Decimal``: exact (no float drift), and it formats with ``:.2f``. No SQL
``AVG``: the point is to aggregate on the client without loading the table.
"""

from collections.abc import Iterator
from decimal import Decimal

import seed


def stream_user_ages() -> Iterator[int | Decimal]:
    """Yield each user's age, one at a time."""
    with seed.prodev_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT age FROM user_data")
        for (age,) in cursor:
            yield age


def calculate_average_age() -> Decimal:
    """Return the mean age of all users; SetupError if there are none."""
    count = total = 0
    for age in stream_user_ages():
        count += 1
        total += age
    if not count:
        raise seed.SetupError(
            "user_data is empty, so there is no average age: "
            "run ./seed.py first"
        )
    return Decimal(total) / count


average_age = compute_average_age = calculate_average_age

if __name__ == "__main__":
    print(f"Average age of users: {calculate_average_age():.2f}")

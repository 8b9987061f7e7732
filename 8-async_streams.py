#!/usr/bin/env python3
"""Beyond the curriculum: lessons 0, 1 and 4 as async generators.

Other tasks run while rows come; a stop or cancel closes the connection.
"""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

from prodev.aio import USERS, check_size, first, mean, query


async def async_stream_users_in_batches(batch_size: int) -> AsyncIterator:
    """Yield lists of at most ``batch_size`` user dicts, in user_id order."""
    check_size("batch_size", batch_size)
    async with query(USERS) as rows:
        while batch := await rows.fetchmany(batch_size):
            yield batch


async def async_stream_users() -> AsyncIterator[dict]:
    """Yield every user as a dict, one at a time, in user_id order."""
    async with query(USERS) as rows:
        async for user in rows:
            yield user


async def async_average_age() -> Decimal:
    """Return the mean age of all users, folded from the stream as it comes."""
    count = total = 0
    async for user in async_stream_users():
        count, total = count + 1, total + user["age"]
    return mean(total, count)


async def main() -> None:
    """Two streams at once: the average, and the first batch of three."""
    average, users = await asyncio.gather(
        async_average_age(), first(async_stream_users_in_batches(3)))
    print(*users, f"Average age of users: {average:.2f}", sep="\n")


if __name__ == "__main__":
    asyncio.run(main())

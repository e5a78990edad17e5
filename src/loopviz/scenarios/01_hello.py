"""One coroutine: hello, a pause, goodbye

Watch the single task: it runs for a moment to print its greeting, then waits on
sleep for one second while the loop sits idle, then runs again to say goodbye.
Awaiting hands the loop back; nothing else exists here to use it.
"""

import asyncio


async def welcome(guest: str, pause: float) -> None:
    print(f"Welcome, {guest}.")
    await asyncio.sleep(pause)  # the task is suspended here; the loop is free
    print(f"See you later, {guest}.")


if __name__ == "__main__":
    asyncio.run(welcome("Ada", 1.0))

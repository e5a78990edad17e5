"""Cancellation: a task stopped mid-sleep cleans up in finally

A backup task starts a five-second sleep; after 0.5 s main cancels it. Watch the
task turn ready at once (cancelled), run its finally block, which itself awaits
(0.1 s of tidying up), and end cancelled; main then sees CancelledError.
"""

import asyncio


async def backup() -> None:
    try:
        print("backup: copying files")
        await asyncio.sleep(5)
        print("backup: finished")  # never reached
    finally:
        print("backup: interrupted, removing the partial copy")
        await asyncio.sleep(0.1)
        print("backup: tidy again")


async def main() -> None:
    job = asyncio.create_task(backup(), name="backup")
    await asyncio.sleep(0.5)
    job.cancel()
    try:
        await job
    except asyncio.CancelledError:
        print(f"main: the backup was cancelled: {job.cancelled()}")


if __name__ == "__main__":
    asyncio.run(main())

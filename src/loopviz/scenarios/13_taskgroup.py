"""TaskGroup: one child fails, its siblings are cancelled, the error comes out

Three downloads run in a TaskGroup (Python 3.11+). At 0.3 s "mirror-b" raises.
Watch the group cancel the other two at that moment, long before they would have
finished, then re-raise the failure from the "async with" as an ExceptionGroup,
which main catches with except*.
"""

import asyncio


async def download(seconds: float, fails: bool = False) -> str:
    await asyncio.sleep(seconds)
    if fails:
        raise ConnectionError("mirror went away")
    return "ok"


async def main() -> None:
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(download(1.0), name="mirror-a")
            group.create_task(download(0.3, fails=True), name="mirror-b")
            group.create_task(download(1.5), name="mirror-c")
    except* ConnectionError as failure:
        for error in failure.exceptions:
            print(f"the group failed: {error!r}")
    print("the siblings were cancelled, nothing left running")


if __name__ == "__main__":
    asyncio.run(main())

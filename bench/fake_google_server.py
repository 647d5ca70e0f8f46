"""The fake Google Calendar server (tests/fakes/google_calendar.py) in a process of its
own, as Google is for the service: ``python -m bench.fake_google_server EMAIL`` prints
its base URL on the first line and serves until killed. A line ``route PREFIX TARGET``
on its input delivers notifications for https addresses starting PREFIX to TARGET (the
fake, like Google, takes only https channel addresses); it answers ``ok``."""

from __future__ import annotations

import asyncio
import sys

from tests.fakes.google_calendar import FakeGoogle


async def serve(email: str) -> None:
    fake = FakeGoogle()
    await fake.start()
    fake.add_account(email)
    fake.consent_account = email
    sys.stdout.write(fake.base_url + "\n")
    sys.stdout.flush()
    while line := await asyncio.to_thread(sys.stdin.readline):
        words = line.split()
        if len(words) == 3 and words[0] == "route":
            fake.route_https(words[1], words[2])
            sys.stdout.write("ok\n")
            sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1] if len(sys.argv) > 1 else "bench@example.com"))

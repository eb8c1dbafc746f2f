"""How API calls share the machine.

Questions (search, ask, precedents, draft check) share the page's number of workers: CPU work on
one shared model, where more at once only makes each slower on 2 cores; the others wait their turn.

A short call (a search) that arrives while no other API call is in progress runs at once on the
server's event loop: handing it to a worker thread and back costs about 0.3–0.6 ms on this kind of
machine, some 5 % of a search (bench/bench_api.py). With other calls in progress it goes to a
worker thread like every other call, so no one waits behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from ..layout import ASK_CONCURRENCY

T = TypeVar("T")
QUESTIONS = threading.BoundedSemaphore(ASK_CONCURRENCY)


class InFlight:
    """API calls in progress, counted by the Guard in front of every programmable app (on the
    event loop, so without a lock)."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        self.count += 1
        return self

    def __exit__(self, *exc):
        self.count -= 1

    @property
    def alone(self) -> bool:
        return self.count <= 1


IN_FLIGHT = InFlight()


async def run_question(fn: Callable[[], T], short: bool = False) -> T:
    """`fn()` within the questions' share: a short one at once when it is the only call in
    progress, otherwise (and every long one) in a worker thread."""
    if short and IN_FLIGHT.alone and QUESTIONS.acquire(blocking=False):
        try:
            return fn()
        finally:
            QUESTIONS.release()
    return await run_in_threadpool(_within_share, fn)


def _within_share(fn: Callable[[], T]) -> T:
    with QUESTIONS:
        return fn()

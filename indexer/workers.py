"""Blocks of encoder work from several streams, run on a few one-thread workers.

On this kind of machine (2 cores) one-thread workers, one per core, get more out of the
models than one two-thread call at a time: a two-thread forward pass waits for its slower
half at every step (two threads run m3e 1.83x and the second model 1.64x as fast as one,
bench/bench_scale.py threads). The build therefore hands blocks of both models to one small
pool. Each stream keeps about an equal share of the workers while it has work; when one
runs out, its workers take the other's blocks, so no core idles until the last block.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    stage: str  # whose time it is: "embed" or "second"
    work: Callable[[], object]  # runs on a worker; must release the GIL for its heavy part
    done: Callable[[object], None]  # runs on the calling thread with work's result


def run(streams: list[Iterator[Task]], workers: int, spent: dict[str, float]) -> None:
    """Run every task of every stream; `done` callbacks run here, in completion order.
    Worker-seconds per stage are added to `spent`. With `workers` <= 1 tasks run inline, one
    stream after the other. A task's exception stops the run and is raised here."""
    if workers <= 1:
        for stream in streams:
            for task in stream:
                task.done(_timed(task, spent))
        return
    live = dict(enumerate(streams))
    running: dict[Future, tuple[int, Task]] = {}
    share = [0] * len(streams)  # tasks in flight per stream
    pool = ThreadPoolExecutor(workers, thread_name_prefix="encode")
    try:
        while live or running:
            while live and len(running) <= workers:  # one waiting beside each busy worker
                i = min(live, key=lambda k: share[k])
                task = next(live[i], None)
                if task is None:
                    del live[i]
                    continue
                running[pool.submit(_measured, task.work)] = (i, task)
                share[i] += 1
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i, task = running.pop(future)
                share[i] -= 1
                seconds, result = future.result()
                spent[task.stage] = spent.get(task.stage, 0.0) + seconds
                task.done(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _measured(work: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    result = work()
    return time.monotonic() - started, result


def _timed(task: Task, spent: dict[str, float]) -> object:
    seconds, result = _measured(task.work)
    spent[task.stage] = spent.get(task.stage, 0.0) + seconds
    return result

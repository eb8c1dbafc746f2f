"""indexer/workers.py: blocks of two streams on shared workers."""

import threading
import time

import pytest

from indexer.workers import Task, run


def _stream(stage: str, n: int, log: list, seconds: float = 0.0, fail_at: int | None = None):
    for i in range(n):
        def work(i=i):
            if i == fail_at:
                raise ValueError(f"{stage} 第{i}块出错")
            time.sleep(seconds)
            return (stage, i, threading.current_thread().name)

        yield Task(stage, work, log.append)


def test_inline_runs_streams_in_order_on_this_thread():
    log, spent = [], {}
    run([_stream("embed", 3, log), _stream("second", 2, log)], workers=1, spent=spent)
    assert [(s, i) for s, i, _ in log] == [("embed", 0), ("embed", 1), ("embed", 2), ("second", 0), ("second", 1)]
    assert {name for _, _, name in log} == {threading.current_thread().name}
    assert set(spent) == {"embed", "second"}


def test_pool_runs_every_task_once_and_shares_the_workers():
    log, spent = [], {}
    run([_stream("embed", 12, log, 0.02), _stream("second", 4, log, 0.02)], workers=2, spent=spent)
    assert sorted((s, i) for s, i, _ in log) == sorted([("embed", i) for i in range(12)] +
                                                       [("second", i) for i in range(4)])
    order = [s for s, _, _ in log]
    assert "second" in order[:4]  # the second stream started beside the first, not after it
    assert {name for _, _, name in log} != {threading.current_thread().name}
    assert spent["embed"] >= 12 * 0.02 and spent["second"] >= 4 * 0.02


def test_pool_blocks_of_one_stream_use_every_worker_once_the_other_is_done():
    lock, busy, most = threading.Lock(), [0], [0]

    def work():
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.05)
        with lock:
            busy[0] -= 1

    done = []
    run([iter([Task("embed", work, done.append) for _ in range(8)]), iter([])], workers=2, spent={})
    assert len(done) == 8
    assert most[0] == 2  # two at a time, not one after the other


def test_a_failing_task_stops_the_run_and_is_raised():
    log = []
    with pytest.raises(ValueError, match="第3块出错"):
        run([_stream("embed", 50, log, 0.01, fail_at=3), _stream("second", 50, log, 0.01)], workers=2, spent={})
    assert len(log) < 100

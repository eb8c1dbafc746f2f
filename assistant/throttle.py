"""Failed logins, counted per user name and per address: after a few failures in a row,
further attempts from that name or that address wait, longer each time.

Without it a script tries hundreds of passwords a second. A success clears the name's
and the address's count; the page logs every failure.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5  # failures allowed before the first wait
FIRST_WAIT = 30.0  # seconds; doubles with every further failure
LONGEST_WAIT = 15 * 60.0
FORGET_AFTER = 60 * 60.0  # a count with no failure for this long starts again
MAX_TRACKED = 10_000  # names and addresses remembered at once (the oldest are forgotten)


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no attempt before this time


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(user: str, address: str) -> list[tuple[str, str]]:
        return [("user", user), ("address", address)]

    def _get(self, key: tuple[str, str], now: float) -> _Record:
        record = self._records.get(key)
        if record is None or now - record.last > FORGET_AFTER:
            record = _Record()
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > MAX_TRACKED:
            self._records.popitem(last=False)
        return record

    def wait(self, user: str, address: str) -> float:
        """Seconds before this name or address may try again (0: now)."""
        now = self._clock()
        with self._lock:
            return max(0.0, *(self._get(k, now).until - now for k in self._keys(user, address)))

    def failed(self, user: str, address: str) -> int:
        """Count a failure; return the larger of the two counts."""
        now = self._clock()
        worst = 0
        with self._lock:
            for key in self._keys(user, address):
                record = self._get(key, now)
                record.failures += 1
                record.last = now
                if record.failures >= FREE_FAILURES:
                    extra = record.failures - FREE_FAILURES
                    record.until = now + min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(extra, 20))
                worst = max(worst, record.failures)
        return worst

    def succeeded(self, user: str, address: str) -> None:
        with self._lock:
            for key in self._keys(user, address):
                self._records.pop(key, None)

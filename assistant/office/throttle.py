"""Failed logins, and how often one user may do something costly.

`LoginThrottle` counts failed logins three ways and makes further attempts wait, longer
each time, once a count passes its allowance:
- per name and address together (5 failures): one person mistyping, or one guesser;
- per name from anywhere (10): a guesser who changes address;
- per address across names (20): a guesser who tries one password on many names.
A success clears only the counts of the name that succeeded (and that name's own failures
from the address's count): logging in with one's own reader account does not reset the
count of guesses at the administrator's password.

A browser that has logged in as a user before carries a signed device token for that name
(`DeviceTokens`). Its attempts at that name are counted on their own (5 failures), not by
name or address: an anonymous client guessing, or a crowd behind one proxy address, can
make strangers wait but cannot lock a returning user out.

`RateLimit` bounds how often one user may do something that writes to disk (feedback,
uploads): a token bucket per user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 5  # failures of one name at one address (or of one device) before the first wait
NAME_FREE_FAILURES = 10  # failures of one name from any address
ADDRESS_FREE_FAILURES = 20  # failures at one address across names
FIRST_WAIT = 30.0  # seconds; doubles with every further failure
LONGEST_WAIT = 15 * 60.0
FORGET_AFTER = 60 * 60.0  # a count with no failure for this long starts again
MAX_TRACKED = 10_000  # counts remembered at once (the oldest are forgotten)
DEVICE_DAYS = 30  # how long a browser stays known after a login


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no attempt before this time


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._records: OrderedDict[tuple, _Record] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(user: str, address: str, device: str | None) -> list[tuple[tuple, int]]:
        """The counts an attempt is measured by, each with its allowance."""
        if device:
            return [(("device", device, user), FREE_FAILURES)]
        return [(("pair", user, address), FREE_FAILURES), (("user", user), NAME_FREE_FAILURES),
                (("address", address), ADDRESS_FREE_FAILURES)]

    def _get(self, key: tuple, now: float) -> _Record:
        record = self._records.get(key)
        if record is None or now - record.last > FORGET_AFTER:
            record = _Record()
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > MAX_TRACKED:
            self._records.popitem(last=False)
        return record

    def wait(self, user: str, address: str, device: str | None = None) -> float:
        """Seconds before this attempt may be made (0: now)."""
        now = self._clock()
        with self._lock:
            return max(0.0, *(self._get(k, now).until - now for k, _ in self._keys(user, address, device)))

    def failed(self, user: str, address: str, device: str | None = None) -> int:
        """Count a failure; return the largest count it belongs to."""
        now = self._clock()
        worst = 0
        with self._lock:
            for key, free in self._keys(user, address, device):
                record = self._get(key, now)
                record.failures += 1
                record.last = now
                if record.failures >= free:
                    extra = record.failures - free
                    record.until = now + min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(extra, 20))
                worst = max(worst, record.failures)
        return worst

    def succeeded(self, user: str, address: str, device: str | None = None) -> None:
        """Clear this name's counts (and its device's), and take its own failures here off the
        address's count; the failures of other names stay counted."""
        with self._lock:
            pair = self._records.pop(("pair", user, address), None)
            for key in (("user", user), ("device", device, user)):
                self._records.pop(key, None)
            here = self._records.get(("address", address))
            if pair is not None and here is not None:
                here.failures = max(0, here.failures - pair.failures)
                if here.failures < ADDRESS_FREE_FAILURES:
                    here.until = 0.0


class DeviceTokens:
    """Signed `name|id|expiry` tokens a browser keeps after logging in as `name`. The key lives
    in this process: after a restart every browser is a stranger until it logs in again."""

    def __init__(self, key: bytes | None = None, clock: Callable[[], float] = time.time):
        self._key = key or secrets.token_bytes(32)
        self._clock = clock

    def issue(self, user: str) -> str:
        body = f"{user}|{secrets.token_hex(8)}|{int(self._clock() + DEVICE_DAYS * 86400)}"
        return _b64(body.encode()) + "." + _b64(self._sign(body))

    def device(self, token: str | None, user: str) -> str | None:
        """The token's id if it is genuine, unexpired and issued for `user`; else None."""
        try:
            body_b64, signature = (token or "").split(".")
            body = base64.urlsafe_b64decode(body_b64 + "==").decode()
            name, device, expiry = body.rsplit("|", 2)
            genuine = hmac.compare_digest(_b64(self._sign(body)), signature)
            return device if genuine and name == user and int(expiry) > self._clock() else None
        except (ValueError, UnicodeDecodeError):
            return None

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class RateLimit:
    """At most `burst` actions at once per user, refilled at `per_hour` an hour."""

    def __init__(self, burst: int, per_hour: float, clock: Callable[[], float] = time.monotonic):
        self.burst = burst
        self.rate = per_hour / 3600.0
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # who -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, who: str, cost: float = 1.0) -> float:
        """0 if `who` may act now (and the action is counted), else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens < cost:
                self._buckets[who] = (tokens, now)
                return (cost - tokens) / self.rate if self.rate else 3600.0
            self._buckets[who] = (tokens - cost, now)
            self._buckets.move_to_end(who)
            while len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
            return 0.0


class Summary:
    """One line in a log per key and interval, with the number of events left out since the
    last line: a flood of refused attempts costs a line a minute, not a line each."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self._clock = clock
        self._seen: OrderedDict[tuple, tuple[float, int]] = OrderedDict()  # key -> (last written, left out)
        self._lock = threading.Lock()

    def due(self, key: tuple) -> int | None:
        """The number left out before this one if a line is due now, else None (this one is left out)."""
        now = self._clock()
        with self._lock:
            written, left_out = self._seen.get(key, (-self.interval, 0))
            if now - written < self.interval:
                self._seen[key] = (written, left_out + 1)
                return None
            self._seen[key] = (now, 0)
            self._seen.move_to_end(key)
            while len(self._seen) > MAX_TRACKED:
                self._seen.popitem(last=False)
            return left_out

"""Derived files kept between runs (exported models, parsed dictionaries), so a start
loads them instead of deriving them again."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def policyqa_cache() -> Path:
    """Where derived files are kept: $POLICYQA_CACHE or ~/.cache/policyqa."""
    base = os.environ.get("POLICYQA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "policyqa")
    return Path(base)


def derived(cached: Path, make: Callable[[], T], read: Callable[[Path], T | None],
            write: Callable[[T, Path], None]) -> T:
    """The value kept in `cached`, or made and kept there for next time.

    `read` returns None for a file it does not accept; any error reading means "make it
    again". The file appears whole or not at all (written aside, then renamed), and a
    cache that cannot be written only costs the time of making the value.
    """
    try:
        found = read(cached)
        if found is not None:
            return found
    except Exception:  # missing, truncated or from another version: derive it again
        pass
    value = make()
    tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write(value, tmp)
        os.replace(tmp, cached)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return value

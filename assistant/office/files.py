"""The office's small JSON files (users, keys, libraries, visibility marks): written whole, read
again when they change."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


def save_json(path: Path, data: dict, private: bool = False) -> None:
    """Write `data` to `path` atomically: a reader sees the old file or the new one, never half
    of one (a temporary file beside it, then a rename). `private`: readable by its owner only
    (passwords' hashes, keys' hashes). Raises OSError; the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class FollowedFile(Generic[T]):
    """A file's parsed contents, parsed again only when the file changes (its inode, time or
    size): a change made by another process (the command line, another server) is seen at the
    next read, without a restart. A missing file is `empty`; one that cannot be read raises
    `unreadable(error)`."""

    def __init__(self, path: Path, parse: Callable[[Path], T], empty: T,
                 unreadable: Callable[[OSError], Exception]):
        self.path = Path(path)
        self._parse, self._empty, self._unreadable = parse, empty, unreadable
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._value: T = empty

    def read(self) -> T:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._value = None, self._empty
                return self._value
            except OSError as e:
                raise self._unreadable(e) from e
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                self._value = self._parse(self.path)
                self._stamp = stamp
            return self._value

    def forget(self) -> None:
        """Parse the file again at the next read (after this process wrote it)."""
        with self._lock:
            self._stamp = None

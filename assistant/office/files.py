"""The office's small JSON files (users, keys, libraries, visibility marks), written whole."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


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

"""Traditional and simplified characters meet in one form: text is converted to
simplified (OpenCC t2s) before it is cut into words or embedded, and so is every
query, so `黨員發展` finds 党员发展 and the reverse."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_converter = None


def _get():
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                try:
                    import opencc
                except ImportError as e:  # pragma: no cover - depends on the environment
                    raise RuntimeError("缺少 OpenCC：pip install opencc") from e
                _converter = opencc.OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    return _get().convert(text) if text else text

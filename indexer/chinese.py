"""Traditional and simplified characters meet in one form: text is converted to
simplified (OpenCC t2s) before it is cut into words or embedded, and so is every
query, so `黨員發展` finds 党员发展 and the reverse."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_converters: dict[str, object] = {}


def _get(config: str):
    if config not in _converters:
        with _lock:
            if config not in _converters:
                try:
                    import opencc
                except ImportError as e:  # pragma: no cover - depends on the environment
                    raise RuntimeError("缺少 OpenCC：pip install opencc") from e
                _converters[config] = opencc.OpenCC(config)
    return _converters[config]


def to_simplified(text: str) -> str:
    return _get("t2s").convert(text) if text else text


def to_traditional(text: str) -> str:
    """For matching a few query words against stored text that may be traditional."""
    return _get("s2t").convert(text) if text else text

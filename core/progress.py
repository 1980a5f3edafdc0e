"""The one progress/cancel protocol every long operation in core/ takes.

`report(fraction, message)` is called from the working thread or process; `cancel.check()` is called
between units of work and raises JobCancelled once cancellation was requested (from any thread).
"""

from __future__ import annotations

import threading
from typing import Callable, Protocol

from core.errors import JobCancelled

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    pass


class CancelCheck(Protocol):
    def is_cancelled(self) -> bool: ...


class CancelToken:
    """A thread-safe cancellation flag; subclasses may poll an external source (e.g. the jobs table)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self.is_cancelled():
            raise JobCancelled("cancelled by the user")


NEVER_CANCELLED = CancelToken()

"""The one progress/cancel protocol every long operation in core/ takes.

`report(fraction, message)` is called from the working thread or process; `cancel.check()` is called
between units of work and raises JobCancelled once cancellation was requested (from any thread).

A loop that counts steps (training) calls `report_steps(progress, fraction, message, step, total, loss)`:
the same call, plus the numbers as fields for whoever collects them around the work (`collecting_steps`;
a job's worker stores them in its row), through any wrapping of `progress` on the way.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

from core.errors import JobCancelled

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    pass


@dataclass(frozen=True)
class Steps:
    step: int
    total: int
    loss: float | None = None


_steps_sink: ContextVar[Callable[[Steps], None] | None] = ContextVar("steps_sink", default=None)


def report_steps(progress: ProgressCallback, fraction: float, message: str, step: int, total: int,
                 loss: float | None = None) -> None:
    sink = _steps_sink.get()
    if sink is not None:
        sink(Steps(step, total, loss))
    progress(fraction, message)


@contextmanager
def collecting_steps(sink: Callable[[Steps], None]) -> Iterator[None]:
    """Within the block, `report_steps` of this thread hands its numbers to `sink`."""
    token = _steps_sink.set(sink)
    try:
        yield
    finally:
        _steps_sink.reset(token)


def eta_seconds(fraction: float, elapsed_s: float) -> float | None:
    """Remaining seconds at the average pace so far; None until the pace is known."""
    if fraction <= 0.02 or fraction >= 1.0 or elapsed_s <= 0:
        return None
    return elapsed_s * (1.0 - fraction) / fraction


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

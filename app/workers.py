"""Run callables on a QThreadPool and hear back on the GUI thread (result, error, progress, cancel)."""

from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6 import QtCore

from core.errors import ContrarioError, JobCancelled
from core.progress import CancelToken


class TaskSignals(QtCore.QObject):
    finished = QtCore.Signal(object)  # the callable's return value
    failed = QtCore.Signal(str)  # one-line message
    progress = QtCore.Signal(float, str)
    cancelled = QtCore.Signal()


class Task(QtCore.QRunnable):
    """`fn(*args, progress=..., cancel=...)` when `with_progress`, else `fn(*args)`."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.with_progress = with_progress
        self.cancel_token = CancelToken()
        self.signals = TaskSignals()
        self.setAutoDelete(False)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self) -> None:
        try:
            if self.cancel_token.is_cancelled():
                raise JobCancelled("cancelled")
            if self.with_progress:
                result = self.fn(*self.args, progress=self.signals.progress.emit, cancel=self.cancel_token)
            else:
                result = self.fn(*self.args)
        except JobCancelled:
            _emit(self.signals.cancelled)
        except ContrarioError as exc:
            _emit(self.signals.failed, str(exc))
        except Exception as exc:  # shown to the user, never crashes the GUI
            traceback.print_exc()
            _emit(self.signals.failed, f"{type(exc).__name__}: {exc}")
        else:
            _emit(self.signals.finished, result)


def _emit(signal, *args) -> None:
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted": the application is exiting, nobody listens
        pass


class TaskRunner(QtCore.QObject):
    """Owns a thread pool; keeps started tasks alive until they report, and can wait for all of them."""

    def __init__(self, max_threads: int = 2, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._alive: set[Task] = set()

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        with_progress: bool = False,
        priority: int = 0,
    ) -> Task:
        task = Task(fn, *args, with_progress=with_progress)
        self._alive.add(task)
        if on_done:
            task.signals.finished.connect(on_done)
        if on_error:
            task.signals.failed.connect(on_error)
        if on_progress:
            task.signals.progress.connect(on_progress)
        for sig in (task.signals.finished, task.signals.failed, task.signals.cancelled):
            sig.connect(lambda *_, t=task: self._alive.discard(t))
        self.pool.start(task, priority)
        return task

    def cancel_all(self) -> None:
        for task in list(self._alive):
            task.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task has run (used at close and in tests)."""
        done = self.pool.waitForDone(msecs)
        QtCore.QCoreApplication.processEvents()
        return done

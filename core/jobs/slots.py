"""Compute slots of a host: how many jobs may run their model work on one machine at once (default 1).

Two torch processes on the same cores run 5 to 15 times slower than one (each sizes its thread pool to every
core, and together they oversubscribe them), so a job never competes with another on its host: the process
that runs it first takes one of the host's slots, and waits while they are all taken. `contrario worker` takes
a slot before it claims a job (so a busy host leaves queued jobs to other machines), and the worker process
that the workbench's job runner or a CLI command (`train`, `infer`, `jobs --run`) starts for one job takes a
slot before it claims that job. Every process of a host thus shares its slots, whoever started it.

A slot is an exclusive `flock` on a file in a folder every process of the host sees: $CONTRARIO_SLOT_DIR, by
default `<temp>/contrario-slots` (shared by every user of the machine; a per-user folder when that one is not
usable). The lock belongs to the process: one that crashes or is killed frees its slot at once. The holder
writes its pid and what it runs into the file, so a waiting process can say whom it waits for.
$CONTRARIO_SLOTS sets how many slots the host has (e.g. a machine with many cores, or several GPUs); with
more than one, a job's torch threads default to the cores divided by the slots.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux: no host-wide slots, jobs are not limited
    fcntl = None

SLOTS_ENV = "CONTRARIO_SLOTS"
DIR_ENV = "CONTRARIO_SLOT_DIR"
DEFAULT_SLOTS = 1
_lock = threading.Lock()
_held: list[Slot] = []  # the slot this process holds (re-entrant: a flock on a second descriptor would wait)


@dataclass
class Slot:
    index: int
    path: Path
    fd: int | None  # None: no locking on this platform
    depth: int = 1

    def release(self) -> None:
        with _lock:
            self.depth -= 1
            if self.depth > 0:
                return
            if self in _held:
                _held.remove(self)
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


def slot_count() -> int:
    """Slots of this host: $CONTRARIO_SLOTS (at least 1), else 1."""
    raw = os.environ.get(SLOTS_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_SLOTS
    except ValueError:
        return DEFAULT_SLOTS


def threads_per_slot() -> int | None:
    """Torch threads of a job when the host has several slots (cores / slots); None: torch's own choice."""
    n = slot_count()
    if n <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // n)


def slot_dir() -> Path:
    """The folder of this host's slot files (made on first use, open to every user of the machine)."""
    given = os.environ.get(DIR_ENV)
    if given:
        folder = Path(given).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    shared = Path(tempfile.gettempdir()) / "contrario-slots"
    try:
        shared.mkdir(exist_ok=True)
        if shared.stat().st_uid == os.geteuid():
            os.chmod(shared, 0o1777)  # every user's jobs share the host's slots
        if os.access(shared, os.W_OK | os.X_OK):
            return shared
    except OSError:
        pass
    own = Path(tempfile.gettempdir()) / f"contrario-slots-{os.geteuid()}"
    own.mkdir(exist_ok=True)
    return own


def _open(path: Path) -> int:
    """A descriptor of a slot file: an existing one is opened without O_CREAT (a sticky /tmp refuses O_CREAT on
    another user's file), a missing one is created readable and writable by every user."""
    while True:
        try:
            return os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue  # made by another process meanwhile: open that one
        try:
            os.fchmod(fd, 0o666)
        except OSError:
            pass
        return fd


def try_acquire(what: str = "") -> Slot | None:
    """One free slot of this host, or None when every slot is taken; `what` is shown to waiting processes."""
    with _lock:
        if _held:
            _held[0].depth += 1
            return _held[0]
    folder = slot_dir()
    for index in range(slot_count()):
        path = folder / f"slot-{index}"
        if fcntl is None:
            return Slot(index, path, None)
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {what}".strip().encode() + b"\n", 0)
        except OSError:
            pass
        slot = Slot(index, path, fd)
        with _lock:
            _held.append(slot)
        return slot
    return None


def holders() -> list[str]:
    """What the processes holding this host's slots run ("PID WHAT" each), as they wrote it."""
    out = []
    folder = slot_dir()
    for index in range(slot_count()):
        try:
            text = (folder / f"slot-{index}").read_text(errors="replace").strip()
        except OSError:
            continue
        if text:
            out.append(text)
    return out


def acquire(what: str = "", on_wait: Callable[[str], None] | None = None, poll_s: float = 0.2,
            timeout_s: float | None = None) -> Slot | None:
    """Wait for a slot of this host. `on_wait(message)` is called once if every slot is taken at first;
    None after `timeout_s` without one. A signal handler that raises (SIGTERM) ends the wait."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    told = False
    while True:
        slot = try_acquire(what)
        if slot is not None:
            return slot
        if not told and on_wait is not None:
            told = True
            busy = "; ".join(holders())
            n = slot_count()
            on_wait(f"waiting for a compute slot on this host ({n} slot{'s' if n != 1 else ''}"
                    + (f", taken by pid {busy}" if busy else "") + ")")
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)


@contextmanager
def compute_slot(what: str = "", on_wait: Callable[[str], None] | None = None,
                 poll_s: float = 0.2) -> Iterator[Slot]:
    """Hold one of this host's slots for the body of the `with` (waiting for one first)."""
    slot = acquire(what, on_wait, poll_s)
    try:
        yield slot
    finally:
        slot.release()

"""A real X server for tests that need a window (not offscreen): Xvfb on a free display, xdotool to type."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager


def require_tools() -> None:
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found: run setup.sh (it installs xvfb and xdotool)")


@contextmanager
def xvfb(width: int = 1366, height: int = 768):
    """Yield the DISPLAY string of a fresh Xvfb screen (no window manager)."""
    require_tools()
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def xdotool(display: str, *args: str) -> str:
    out = subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display), capture_output=True,
                         text=True, timeout=30)
    return out.stdout.strip()


def wait_window(display: str, name: str, timeout: float = 120.0) -> str:
    """Window id of the first mapped window whose title contains `name`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = xdotool(display, "search", "--onlyvisible", "--name", name)
        if found:
            return found.splitlines()[0]
        time.sleep(0.3)
    raise TimeoutError(f"no window named {name!r} on {display} within {timeout:.0f} s")

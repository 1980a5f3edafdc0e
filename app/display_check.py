"""Can a window open? Checked before a command queues work that only a window would run.

Qt aborts the process (it cannot be caught) when its platform plugin fails to load or no display answers,
and its own message for a missing xcb library names libxcb-cursor0 whatever is missing. This check loads
the xcb plugin itself, so the real missing library is named, and connects to the X server once.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

NO_WINDOW_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")


def xcb_plugin_path() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def display_problem(environ: dict | None = None) -> str | None:
    """None when Qt can open a window here; otherwise one line saying why not and what to do."""
    env = os.environ if environ is None else environ
    platform = (env.get("QT_QPA_PLATFORM") or "").split(":")[0].strip()
    if platform in NO_WINDOW_PLATFORMS or not sys.platform.startswith("linux"):
        return None
    if platform.startswith("wayland") or (not platform and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return None  # Qt's wayland plugin reports its own problems clearly
    plugin = xcb_plugin_path()
    if plugin is not None:
        try:
            ctypes.CDLL(str(plugin))
        except OSError as exc:
            missing = str(exc).split(":")[0] if ":" in str(exc) else str(exc)
            return (f"{plugin.name}: the Qt X11 plugin cannot load ({missing} is missing); run setup.sh, which "
                    "installs the X11 libraries Qt needs, or run without a window (--headless, "
                    "QT_QPA_PLATFORM=offscreen)")
    display = env.get("DISPLAY")
    if not display:
        return ("no display: DISPLAY is not set; run from a desktop session, under Xvfb (xvfb-run), "
                "or without a window (--headless, QT_QPA_PLATFORM=offscreen)")
    if not _x_server_answers(display):
        return (f"cannot connect to the X display {display}; is the X server (or Xvfb) running? "
                "Or run without a window (--headless, QT_QPA_PLATFORM=offscreen)")
    return None


def _x_server_answers(display: str) -> bool:
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return False
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        return bool(conn) and xcb.xcb_connection_has_error(conn) == 0
    finally:
        if conn:
            xcb.xcb_disconnect(conn)

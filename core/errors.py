"""Errors that reach the user as one clear line (the CLI prints them; the GUI shows them)."""


class ContrarioError(Exception):
    """Base of every error meant for the user."""


class ImageError(ContrarioError):
    """An image file cannot be used; the message names the file and the problem."""


class ProjectError(ContrarioError):
    """A project folder is missing, locked, or from an unknown schema."""


class ModelError(ContrarioError):
    """A model or backbone cannot be built or loaded (missing weights, mismatched checkpoint)."""


class JobCancelled(ContrarioError):
    """Raised inside long work when the user cancelled it."""


_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: object) -> str:
    """`text` with control characters escaped (a file name holding a newline must not split a message)."""
    return "".join(_CONTROL.get(c, f"\\x{ord(c):02x}") if ord(c) < 32 or ord(c) == 127 else c for c in str(text))

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

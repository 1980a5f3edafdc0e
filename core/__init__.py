"""Contrario core: everything that is not the GUI. Never imports Qt."""

__version__ = "0.1.0"

"""Contrario review workbench (PySide6 + pyqtgraph). Only this package imports Qt."""

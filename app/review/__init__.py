"""Keyboard-first review: action registry, key bindings, help overlay."""

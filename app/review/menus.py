"""The window's menu bar, and what each action of the registry (menu entry and shortcut) does: every action
calls a public method of the window or of one of its features."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.review.shortcuts_dialog import ShortcutsDialog


def build_menus(window) -> None:
    a = window.registry.action
    mb = window.menuBar()
    m = mb.addMenu("&Project")
    m.addAction(a("new_project"))
    m.addAction(a("open_project"))
    window.files.set_recent_menu(m.addMenu("Open &recent"))
    m.addSeparator()
    m.addAction(a("import_folder"))
    m.addSeparator()
    m.addAction(a("quit"))
    m = mb.addMenu("&Review")
    for i in ("verdict_good", "verdict_defect", "verdict_unsure", None, "next_image", "previous_image",
              "next_view", None, "undo_verdict"):
        m.addSeparator() if i is None else m.addAction(a(i))
    m = mb.addMenu("&View")
    for i in ("toggle_overlay", "toggle_outlines", "threshold_up", "threshold_down", "opacity_up",
              "opacity_down", None, "fit_view", "next_region", "previous_region", "toggle_gallery"):
        m.addSeparator() if i is None else m.addAction(a(i))
    m = mb.addMenu("&Model")
    m.addAction(a("score_batch"))
    m = mb.addMenu("&Help")
    m.addAction(a("help"))
    m.addAction(a("edit_shortcuts"))
    m.addSeparator()
    window.docs_action = m.addAction("Documentation (README)")
    window.docs_action.triggered.connect(window.open_documentation)
    window.about_action = m.addAction("About Contrario")
    window.about_action.triggered.connect(window.show_about)


def bind_actions(window: QtWidgets.QMainWindow) -> None:
    r, c, canvas, files = window.registry, window.controls, window.canvas, window.files
    r.bind("verdict_good", lambda: window.set_verdict("good"))
    r.bind("verdict_defect", lambda: window.set_verdict("defect"))
    r.bind("verdict_unsure", lambda: window.set_verdict("unsure"))
    r.bind("next_image", lambda: window.step(1))
    r.bind("previous_image", lambda: window.step(-1))
    r.bind("undo_verdict", window.undo)
    r.bind("next_view", lambda: canvas.set_active_index(canvas.active_index + 1))
    r.bind("toggle_overlay", c.overlay_check.toggle)
    r.bind("toggle_outlines", c.outline_check.toggle)
    r.bind("threshold_up", lambda: c.nudge_threshold(1))
    r.bind("threshold_down", lambda: c.nudge_threshold(-1))
    r.bind("opacity_up", lambda: c.nudge_opacity(10))
    r.bind("opacity_down", lambda: c.nudge_opacity(-10))
    r.bind("fit_view", canvas.fit)
    r.bind("next_region", lambda: window.step_region(1))
    r.bind("previous_region", lambda: window.step_region(-1))
    r.bind("toggle_gallery", window.toggle_gallery_mode)
    r.bind("help", lambda: window.help.toggle())
    r.bind("edit_shortcuts", lambda: ShortcutsDialog(r, window).exec())
    r.bind("new_project", files.ask_new_project)
    r.bind("open_project", files.ask_open_project)
    r.bind("import_folder", files.ask_import_folder)
    r.bind("score_batch", window.score_batch)
    r.bind("quit", window.request_quit)

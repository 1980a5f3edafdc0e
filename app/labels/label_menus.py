"""The Labels menu (label mode, its tools, Findings, Adjudicate), Export in the Project menu, and which of
them a project makes available."""

from __future__ import annotations

from PySide6 import QtWidgets

from app.labels.label_toolbar import TOOL_ACTIONS

PROJECT_ACTIONS = ("find_findings", "adjudicate", "export")  # available while a project is open


def build_label_menus(window: QtWidgets.QMainWindow, labels) -> QtWidgets.QMenu:
    """Add the label actions of `labels` (a LabelIntegration) to the window's menu bar; returns the Labels menu."""
    a = window.registry.action
    project = window.menu("Project")
    if project is not None:
        project.insertAction(a("quit"), a("export"))
        project.insertSeparator(a("quit"))
    menu = QtWidgets.QMenu("&Labels", window)
    for i in ("label_mode", "save_labels", "mask_undo", "mask_redo", None):
        menu.addSeparator() if i is None else menu.addAction(a(i))
    tools = menu.addMenu("Tools")
    for i in (*TOOL_ACTIONS.values(), None, "brush_bigger", "brush_smaller"):
        tools.addSeparator() if i is None else tools.addAction(a(i))
    menu.addAction(labels.autosave_action)
    menu.addSeparator()
    menu.addAction(a("find_findings"))
    dock_action = labels.findings_dock.toggleViewAction()
    dock_action.setText("Findings panel")
    menu.addAction(dock_action)
    menu.addAction(a("adjudicate"))
    help_menu = window.menu("Help")
    bar = window.menuBar()
    if help_menu is not None:
        bar.insertMenu(help_menu.menuAction(), menu)
    else:
        bar.addMenu(menu)
    return menu


def bind_label_actions(registry, labels) -> None:
    """The registry actions of the features beside label mode (label mode binds its own)."""
    registry.bind("find_findings", lambda: labels.run_findings())
    registry.bind("adjudicate", lambda: labels.adjudicate_current())
    registry.bind("export", labels.ask_export)


def update_project_actions(registry, has_project: bool) -> None:
    for action_id in PROJECT_ACTIONS:
        registry.action(action_id).setEnabled(has_project)

"""Helpers shared by the workbench tests (a uniquely named module: several test folders have a conftest)."""


def open_in(window, project, qtbot):
    with qtbot.waitSignal(window.viewShown, timeout=10000):
        window.set_project(project)
    window.wait_idle()
    return window

"""Import boundaries: core/ never imports Qt; the CLI process never imports torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "core"
QT_ROOTS = {"PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "qtpy"}


def _core_modules() -> list[str]:
    mods = []
    for path in sorted(CORE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__main__" or "migrations" in parts:
            continue  # __main__ runs the CLI; migration scripts run only inside alembic
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods.append(".".join(parts))
    return mods


def test_no_qt_import_statements_in_core():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
                names = [str(node.args[0].value)]
            offenders += [f"{path.relative_to(REPO)}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] in QT_ROOTS]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    code = (
        "import importlib, json, sys\n"
        f"mods = {_core_modules()!r}\n"
        "errors = {}\n"
        "for m in mods:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception as exc:\n"
        "        errors[m] = repr(exc)\n"
        f"qt = sorted(k for k in sys.modules if k.split('.')[0] in {sorted(QT_ROOTS)!r})\n"
        "print(json.dumps({'qt': qt, 'errors': errors, 'count': len(mods)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] > 5
    assert result["errors"] == {}
    assert result["qt"] == []


def test_cli_does_not_import_torch():
    code = (
        "import json, sys\n"
        "import core.cli\n"
        "core.cli.build_parser()\n"  # imports every command module
        "import core.store.project, core.io.importer, core.io.mvtec, core.labels.revisions\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'timm', 'FrEIA'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

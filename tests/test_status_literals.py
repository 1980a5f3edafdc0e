"""Job and image statuses are written with the enums of core.domain.enums, never as string literals.

The scan looks at what can only be a status: a comparison, assignment, `status=` argument or `"status"` key
whose other side is `.status`/`*status` and whose value is one of the status strings, membership tests on
`.status`, and the status argument of `finish`. core/store sits below the domain layer (its column defaults
and migrations keep the plain strings) and is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.domain.enums import ImageStatus, JobStatus

REPO = Path(__file__).resolve().parents[1]
STATUSES = {s.value for s in JobStatus} | {s.value for s in ImageStatus}
EXEMPT = ("core/domain/enums.py", "core/store/")


def _is_status(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript):
        return _is_status(node.value)
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name == "status" or name.endswith("_status") or name == "statuses"


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value in STATUSES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_literal(e) for e in node.elts)
    return False


def _pairs(target: ast.AST, value: ast.AST):
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        for t, v in zip(target.elts, value.elts):
            yield from _pairs(t, v)
    else:
        yield target, value


def status_literals(source: str) -> list[int]:
    """Line numbers where a status is written as a string literal."""
    found = []
    for node in ast.walk(ast.parse(source)):
        hit = False
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            hit = any(_is_status(s) for s in sides) and any(_is_literal(s) for s in sides)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            hit = node.value is not None and any(
                _is_status(t) and _is_literal(v) for target in targets for t, v in _pairs(target, node.value))
        elif isinstance(node, ast.keyword):
            hit = node.arg == "status" and _is_literal(node.value)
        elif isinstance(node, ast.Dict):
            hit = any(isinstance(k, ast.Constant) and k.value == "status" and _is_literal(v)
                      for k, v in zip(node.keys, node.values))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("in_", "count") and _is_status(node.func.value):
                hit = any(_is_literal(a) for a in node.args)
            elif node.func.attr == "finish":
                hit = any(_is_literal(a) for a in node.args)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "finish":
            hit = any(_is_literal(a) for a in node.args)
        if hit:
            found.append(node.lineno)
    return sorted(set(found))


@pytest.mark.parametrize("snippet", [
    'job.status == "queued"',
    'if status in ("done", "failed"): pass',
    'job.status, job.pid = "running", 1',
    'Job(kind="x", status="queued")',
    'select(Image).where(Image.status == "ok")',
    'statuses.count("done")',
    'Job.status.in_(("queued", "running"))',
    'queue.finish(project, 1, "failed", "why")',
    'self._job_status[job_id] = "queued"',
    'print({"job": 1, "status": "done"})',
])
def test_the_scan_sees_a_status_literal(snippet):
    assert status_literals(snippet) == [1]


@pytest.mark.parametrize("snippet", [
    'job.status == JobStatus.QUEUED',
    'progress(1.0, "done")',
    'message = "queued"',
    'return {"scored": 0, "failed": []}',
    'cal = {True: "ok", False: "off"}[x]',
    'if mode == "failed": pass',
])
def test_the_scan_leaves_other_strings_alone(snippet):
    assert status_literals(snippet) == []


def test_no_status_literal_in_core_or_app():
    offenders = []
    for folder in ("core", "app"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(EXEMPT[1]) or rel == EXEMPT[0]:
                continue
            offenders += [f"{rel}:{line}" for line in status_literals(path.read_text(encoding="utf-8"))]
    assert offenders == [], "use core.domain.enums.JobStatus / ImageStatus: " + ", ".join(offenders)

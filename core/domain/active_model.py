"""The active model revision: the one that scores, findings, exports and the workbench use by default.

Rule: the revision named by the project setting ACTIVE_MODEL_KEY when it still exists, else the newest
revision, else None (no model yet). Promotion and rollback write the setting (core.models.revisions).
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.store.schema import ModelRevision, ProjectSetting

ACTIVE_MODEL_KEY = "active_model_revision"


def chosen_active_model_in(session) -> int | None:
    """The revision the setting names (None when never set or the revision is gone), without the fallback."""
    row = session.get(ProjectSetting, ACTIVE_MODEL_KEY)
    if row is None or row.value is None or session.get(ModelRevision, int(row.value)) is None:
        return None
    return int(row.value)


def active_model_in(session) -> int | None:
    """The active model revision id, read in an open session."""
    chosen = chosen_active_model_in(session)
    return chosen if chosen is not None else session.scalar(select(func.max(ModelRevision.id)))


def active_model(project) -> int | None:
    """The active model revision id of a project (see the module rule)."""
    with project.session(readonly=True) as s:
        return active_model_in(s)


def set_active_model(project, revision_id: int) -> None:
    project.set_setting(ACTIVE_MODEL_KEY, int(revision_id))


def activate_if_none_chosen(session, revision_id: int, force: bool = False) -> None:
    """Make a new revision active when asked, or when no revision was chosen yet (the project's first)."""
    if force or chosen_active_model_in(session) is None:
        session.merge(ProjectSetting(key=ACTIVE_MODEL_KEY, value=int(revision_id)))

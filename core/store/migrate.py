"""Schema migrations of a project database (SQLite or PostgreSQL), run programmatically from the scripts packaged in
core/store/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from core.errors import ProjectError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migration scripts must have exactly one head, found {heads}")
    return heads[0]


def revisions_base_to_head() -> list[str]:
    """All revision ids, oldest first."""
    return [rev.revision for rev in reversed(list(script_directory().walk_revisions()))]


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def check_known(revision: str | None) -> None:
    """Raise ProjectError when the project was made by a newer Contrario than this one."""
    if revision is None:
        return
    if revision not in set(revisions_base_to_head()):
        raise ProjectError(
            f"this project was saved by a newer version of Contrario (schema {revision}); "
            f"this version knows schemas up to {head_revision()}: please update Contrario"
        )


def upgrade(connection: Connection, target: str = "head") -> None:
    """Upgrade within the caller's transaction on `connection`."""
    check_known(current_revision(connection))
    command.upgrade(alembic_config(connection), target)

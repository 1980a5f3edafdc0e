"""A Contrario project: a folder holding `project.sqlite` (SQLite, WAL mode) and a `blobs/` store.

Several processes (GUI, CLI, workers) may use one project at once. Every write transaction starts with
`BEGIN IMMEDIATE`, so it takes the write lock up front and waits (busy timeout) instead of failing half-way
on "database is locked"; read-only sessions use a plain deferred `BEGIN` and never block writers (WAL).
Keep sessions short: one per user action.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import __version__
from core.errors import ProjectError
from core.store import migrate
from core.store.blobs import BlobStore
from core.store.integrity import QUICK_CHECK_S, DamagedProjectError, IntegrityResult, damaged_message, run_check
from core.store.schema import ProjectSetting

DB_NAME = "project.sqlite"
BLOBS_DIR = "blobs"
BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "contrario_begin"


def is_project(folder: str | Path) -> bool:
    return (Path(folder) / DB_NAME).is_file()


def _make_engine(db_path: Path, busy_timeout_s: float) -> Engine:
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"timeout": busy_timeout_s, "isolation_level": None, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ProjectError(f"{db_path}: cannot switch the database to WAL mode (got {mode})")
            cur.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: never corrupt, at most the last commit lost on power loss
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN_OPTION, 'IMMEDIATE')}")

    return engine


def _db_error(db_path: Path, exc: BaseException) -> ProjectError:
    text = str(getattr(exc, "orig", exc))
    if "locked" in text or "busy" in text:
        return ProjectError(f"{db_path}: the project is busy (another process held it locked for too long): {text}")
    if "malformed" in text:
        return DamagedProjectError(damaged_message(db_path, [text]))
    if "not a database" in text:
        return ProjectError(f"{db_path}: not a readable project database ({text})")
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return ProjectError(f"{db_path}: cannot open the project database ({text}); check permissions")
    return ProjectError(f"{db_path}: database error ({text})")


class Project:
    """An open project; create with `Project.create` or `Project.open`, release with `close()`."""

    def __init__(self, root: Path, engine: Engine, integrity: IntegrityResult | None = None) -> None:
        self.root = root
        self.integrity = integrity  # the quick check made when the project opened (None: not checked)
        self.db_path = root / DB_NAME
        self.blobs = BlobStore(root / BLOBS_DIR)
        self._engine = engine
        self._read_engine = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        self._local = threading.local()

    # ---- opening -------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, name: str | None = None, *, revision: str = "head",
               busy_timeout_s: float = BUSY_TIMEOUT_S) -> Project:
        """Make a new project in `folder` (created if needed); `revision` is for migration tests only."""
        root = Path(folder).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root}: exists and is not a folder")
        if is_project(root):
            raise ProjectError(f"{root}: already holds a Contrario project")
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / BLOBS_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{root}: cannot create the project folder ({exc.strerror or exc})") from None
        engine = _make_engine(root / DB_NAME, busy_timeout_s)
        try:
            with engine.begin() as conn:
                migrate.upgrade(conn, revision)
        except ProjectError:
            engine.dispose()
            raise
        except DBAPIError as exc:
            engine.dispose()
            raise _db_error(root / DB_NAME, exc) from None
        project = cls(root, engine)
        if revision == "head":
            with project.session() as s:
                for key, value in (("name", name or root.name), ("created_with", __version__),
                                   ("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))):
                    s.merge(ProjectSetting(key=key, value=value))
        return project

    @classmethod
    def open(cls, folder: str | Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S,
             check_s: float | None = QUICK_CHECK_S, allow_damaged: bool = False) -> Project:
        """Open an existing project and upgrade its schema to this version's head.

        The database gets a quick check bounded by `check_s` seconds first: a damaged one raises
        DamagedProjectError, or with `allow_damaged` (check, backup) opens for reading only.
        """
        root = Path(folder).expanduser().resolve()
        if not root.exists():
            raise ProjectError(f"{root}: no such folder")
        if not root.is_dir():
            raise ProjectError(f"{root}: not a folder (a project is a folder holding {DB_NAME})")
        db_path = root / DB_NAME
        if not db_path.is_file():
            raise ProjectError(f"{root}: not a Contrario project (no {DB_NAME})")
        engine = _make_engine(db_path, busy_timeout_s)
        integrity = None
        try:
            if check_s is None or check_s > 0:
                raw = engine.raw_connection()
                try:
                    integrity = run_check(raw.driver_connection, "quick_check", check_s)
                finally:
                    raw.close()
                if integrity.damaged and not allow_damaged:
                    raise DamagedProjectError(damaged_message(db_path, integrity.errors))
            with engine.connect().execution_options(**{_BEGIN_OPTION: "DEFERRED"}) as conn:
                with conn.begin():
                    current = migrate.current_revision(conn)
                    has_tables = bool(inspect(conn).get_table_names())
            if current is None:
                raise ProjectError(
                    f"{db_path}: not a Contrario project database"
                    + (" (its tables are not Contrario's)" if has_tables else " (empty)")
                )
            migrate.check_known(current)
            if current != migrate.head_revision():
                if integrity is not None and integrity.damaged:
                    raise DamagedProjectError(damaged_message(db_path, integrity.errors))
                with engine.begin() as conn:  # BEGIN IMMEDIATE: one process upgrades, the others wait
                    migrate.upgrade(conn, "head")
        except ProjectError:
            engine.dispose()
            raise
        except (DBAPIError, sqlite3.Error) as exc:
            engine.dispose()
            raise _db_error(db_path, exc) from None
        (root / BLOBS_DIR).mkdir(exist_ok=True)
        return cls(root, engine, integrity)

    @property
    def damaged(self) -> bool:
        return self.integrity is not None and self.integrity.damaged

    # ---- sessions ------------------------------------------------------------------------------------
    @contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """A transaction: commits on normal exit, rolls back on exception.

        A nested call in the same thread joins the outer session (and its transaction) instead of opening
        a second connection that would wait for the first one's lock.
        """
        outer = getattr(self._local, "session", None)
        if outer is not None:
            yield outer
            return
        if not readonly and self.damaged:
            raise DamagedProjectError(damaged_message(self.db_path, self.integrity.errors))
        sess = Session(self._read_engine if readonly else self._engine, expire_on_commit=False)
        self._local.session = sess
        try:
            yield sess
            if readonly:  # nothing to write: detach what was loaded (still readable), then end the transaction
                sess.expunge_all()
                sess.rollback()
            else:
                sess.commit()
        except DBAPIError as exc:  # locked, busy, damaged pages found while reading: one line for the user
            sess.rollback()
            if isinstance(exc, IntegrityError):  # a constraint the caller broke: theirs to handle
                raise
            raise _db_error(self.db_path, exc) from exc
        except BaseException:
            sess.rollback()
            raise
        finally:
            self._local.session = None
            sess.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    def schema_revision(self) -> str | None:
        with self._read_engine.connect() as conn:
            with conn.begin():
                return migrate.current_revision(conn)

    # ---- settings ------------------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.session(readonly=True) as s:
            row = s.get(ProjectSetting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.session() as s:
            s.merge(ProjectSetting(key=key, value=value))

    def settings(self) -> dict[str, Any]:
        with self.session(readonly=True) as s:
            return {row.key: row.value for row in s.scalars(select(ProjectSetting))}

    @property
    def name(self) -> str:
        return str(self.get_setting("name", self.root.name))

    # ---- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

"""A Contrario project: a folder holding its database and blob store (see core.store.location for where).

Several processes (GUI, CLI, workers, on one or many machines for a server database) may use one project at
once. Every write session is serialized with the other writers and every read session sees one snapshot and
never blocks a writer (core.store.dialects says how on SQLite and on PostgreSQL). Keep sessions short: one
per user action.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import __version__
from core.errors import ProjectError
from core.store import dialects, migrate
from core.store.blobs import BlobStore
from core.store.integrity import (
    QUICK_CHECK_S,
    DamagedProjectError,
    IntegrityResult,
    checked_env,
    damaged_message,
    file_stamp,
    forget_clean,
    known_clean,
    remember_clean,
)
from core.store.location import (
    BLOBS_DIR,
    DB_NAME,
    PROJECT_FILE,
    Location,
    is_project,
    new_location,
    resolve,
    write_project_file,
)
from core.store.schema import ProjectSetting

__all__ = ["BLOBS_DIR", "BUSY_TIMEOUT_S", "DB_NAME", "PROJECT_FILE", "Project", "is_project"]

BUSY_TIMEOUT_S = 30.0


def _connect_error(location: Location, engine: Engine, exc: BaseException) -> ProjectError:
    engine.dispose()
    return dialects.db_error(location, exc)


def check_database_at(folder: str | Path) -> tuple[Location, IntegrityResult]:
    """The full integrity check of a project's database, made before (and without) opening the project,
    so that damage that keeps it from opening is still reported."""
    location = resolve(folder)
    if location.embedded:  # a plain connection: the file may be too damaged for the engine's settings
        result = dialects.check_sqlite_file(location.db_path)
        if result.damaged:
            forget_clean(location.db_path)
        return location, result
    engine = dialects.make_engine(location, BUSY_TIMEOUT_S)
    try:
        return location, dialects.check_database(location, engine, full=True)
    except (DBAPIError, *dialects.DRIVER_ERRORS) as exc:
        raise dialects.db_error(location, exc) from None
    finally:
        engine.dispose()


class Project:
    """An open project; create with `Project.create` or `Project.open`, release with `close()`."""

    def __init__(self, location: Location, engine: Engine, integrity: IntegrityResult | None = None) -> None:
        self.location: Location = location
        self.root: Path = location.root
        self.integrity: IntegrityResult | None = integrity  # the check made when the project opened (None: not checked)
        self.db_path: Path | None = location.db_path  # the SQLite file; None on a database server
        self.blobs: BlobStore = BlobStore(location.blob_root)
        self._engine = engine
        self._read_engine = engine.execution_options(**dialects.read_options(location))
        self._row_lock_engine = engine.execution_options(**dialects.ROW_LOCK_OPTIONS)
        self._local = threading.local()

    # ---- opening -------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, name: str | None = None, *, database: str | None = None,
               blobs: str | Path | None = None, revision: str = "head",
               busy_timeout_s: float = BUSY_TIMEOUT_S) -> Project:
        """Make a new project in `folder` (created if needed).

        Without `database` it is embedded (project.sqlite); with a `postgresql://` URL its tables go to that
        (empty) database and `folder` gets a project file naming it and the blob folder `blobs` (default
        FOLDER/blobs; a folder every machine sees, for a shared project). `revision` is for migration tests only.
        """
        location = new_location(folder, database, blobs)
        root = location.root
        engine = dialects.make_engine(location, busy_timeout_s)
        try:
            if not location.embedded:
                with engine.connect().execution_options(**dialects.read_options(location)) as conn:
                    if migrate.current_revision(conn) is not None:
                        raise ProjectError(f"{location}: the database already holds a Contrario project "
                                           f"(open it through its own project folder, or use an empty database)")
            root.mkdir(parents=True, exist_ok=True)
            location.blob_root.mkdir(parents=True, exist_ok=True)
            with engine.begin() as conn:
                migrate.upgrade(conn, revision)
            if not location.embedded:
                write_project_file(location)
        except OSError as exc:
            engine.dispose()
            raise ProjectError(f"{exc.filename or root}: cannot create the project ({exc.strerror or exc})") from None
        except ProjectError:
            engine.dispose()
            raise
        except (DBAPIError, *dialects.DRIVER_ERRORS) as exc:
            raise _connect_error(location, engine, exc) from None
        project = cls(location, engine)
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

        The database gets a quick check bounded by `check_s` seconds first, unless it is unchanged since a clean
        one (core.store.integrity): a damaged one raises DamagedProjectError, or with `allow_damaged` (check,
        backup) opens for reading only.
        """
        location = resolve(folder)
        engine = dialects.make_engine(location, busy_timeout_s)
        integrity = None
        where = location.describe()
        try:
            if check_s is None or check_s > 0:
                integrity = cls._quick_check(location, engine, check_s)
                if integrity.damaged and not allow_damaged:
                    raise DamagedProjectError(damaged_message(location.db_path, integrity.errors))
            with engine.connect().execution_options(**dialects.read_options(location)) as conn:
                with conn.begin():
                    current = migrate.current_revision(conn)
                    has_tables = bool(inspect(conn).get_table_names())
            if current is None:
                raise ProjectError(
                    f"{where}: not a Contrario project database"
                    + (" (its tables are not Contrario's)" if has_tables else " (empty)")
                )
            migrate.check_known(current)
            if current != migrate.head_revision():
                if integrity is not None and integrity.damaged:
                    raise DamagedProjectError(damaged_message(location.db_path, integrity.errors))
                with engine.begin() as conn:  # a write session: one process upgrades, the others wait
                    migrate.upgrade(conn, "head")
        except ProjectError:
            engine.dispose()
            raise
        except (DBAPIError, *dialects.DRIVER_ERRORS) as exc:
            raise _connect_error(location, engine, exc) from None
        try:
            location.blob_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            engine.dispose()
            raise ProjectError(f"{location.blob_root}: cannot use the blob folder ({exc.strerror or exc})") from None
        return cls(location, engine, integrity)

    @staticmethod
    def _quick_check(location: Location, engine: Engine, check_s: float | None) -> IntegrityResult:
        if not location.embedded:
            return dialects.check_database(location, engine, time_limit_s=check_s)
        known = known_clean(location.db_path)
        if known is not None:
            return known
        stamp = file_stamp(location.db_path)  # before the check: a write during it makes the stamp stale
        integrity = dialects.check_database(location, engine, time_limit_s=check_s)
        if integrity.finished and not integrity.damaged:
            remember_clean(location.db_path, stamp)
        return integrity

    def worker_env(self) -> dict[str, str]:
        """Environment entries telling worker processes that this process found the database clean."""
        return checked_env(self.db_path, self.integrity)

    @property
    def damaged(self) -> bool:
        return self.integrity is not None and self.integrity.damaged

    # ---- sessions ------------------------------------------------------------------------------------
    @contextmanager
    def session(self, readonly: bool = False, serialized: bool = True) -> Iterator[Session]:
        """A transaction: commits on normal exit, rolls back on exception.

        A write session is serialized with the project's other writers; `serialized=False` leaves a server
        database to row locks instead (the job queue: claims and heartbeats of many workers).
        A nested call in the same thread joins the outer session (and its transaction) instead of opening
        a second connection that would wait for the first one's lock.
        """
        outer = getattr(self._local, "session", None)
        if outer is not None:
            yield outer
            return
        if not readonly and self.damaged:
            raise DamagedProjectError(damaged_message(self.db_path, self.integrity.errors))
        engine = self._read_engine if readonly else self._engine if serialized else self._row_lock_engine
        sess = Session(engine, expire_on_commit=False)
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
            raise dialects.db_error(self.location, exc) from exc
        except BaseException:
            sess.rollback()
            raise
        finally:
            self._local.session = None
            sess.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self.location.dialect

    def check_database(self, full: bool = True) -> IntegrityResult:
        """The database's own integrity check (see core.store.dialects.check_database)."""
        try:
            return dialects.check_database(self.location, self._engine, full=full)
        except (DBAPIError, *dialects.DRIVER_ERRORS) as exc:
            raise dialects.db_error(self.location, exc) from None

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

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

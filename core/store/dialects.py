"""What differs between the embedded SQLite database and a PostgreSQL server; nothing outside core/store knows.

Both give the same guarantee to a write session: it is serialized with every other write session of the
project, so that a read-modify-write (next revision number, a counter) is never lost.
- SQLite (WAL mode): every write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front and
  waiting (busy timeout) instead of failing half-way on "database is locked"; reads use a deferred `BEGIN` and
  see one snapshot, never blocking writers.
- PostgreSQL: a write transaction first takes a transaction-level advisory lock (released at commit), waiting
  at most the busy timeout (`lock_timeout`); reads run in REPEATABLE READ (one snapshot, never blocked).
  A session opened with `serialized=False` skips the advisory lock and relies on row locks: the job queue's
  claims and heartbeats (`SELECT ... FOR UPDATE SKIP LOCKED`), so many workers do not queue behind each other.
  On SQLite every writer is serialized anyway.
Every timestamp is UTC on both (the PostgreSQL session time zone is set to UTC).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from core.errors import ProjectError
from core.store.integrity import QUICK_CHECK_S, DamagedProjectError, IntegrityResult, damaged_message, run_check
from core.store.location import Location

BEGIN_OPTION = "contrario_begin"  # execution option: "IMMEDIATE" (write, default) | "DEFERRED" (read) | "ROWS"
WRITE_LOCK_KEY = 0x436F6E747261  # the project-wide advisory lock of PostgreSQL write sessions
DRIVER_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error,)
try:  # the PostgreSQL driver is needed only for server projects
    import psycopg

    DRIVER_ERRORS += (psycopg.Error,)
except ImportError:  # pragma: no cover - installed with Contrario
    psycopg = None


def make_engine(location: Location, busy_timeout_s: float) -> Engine:
    if location.embedded:
        return _sqlite_engine(location, busy_timeout_s)
    if psycopg is None:
        raise ProjectError(f"{location}: the PostgreSQL driver (psycopg) is not installed")
    return _postgres_engine(location, busy_timeout_s)


def _sqlite_engine(location: Location, busy_timeout_s: float) -> Engine:
    db_path = location.db_path
    engine = create_engine(
        location.url,
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
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")

    return engine


def _postgres_engine(location: Location, busy_timeout_s: float) -> Engine:
    lock_ms = max(1, int(busy_timeout_s * 1000))
    engine = create_engine(
        location.url, pool_pre_ping=True, pool_size=2, max_overflow=8,
        connect_args={"connect_timeout": 10, "application_name": "contrario",
                      "options": f"-c timezone=UTC -c lock_timeout={lock_ms}"},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        if mode == "IMMEDIATE":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")

    return engine


def read_options(location: Location) -> dict:
    """Execution options of a read-only session."""
    if location.embedded:
        return {BEGIN_OPTION: "DEFERRED"}
    return {BEGIN_OPTION: "DEFERRED", "isolation_level": "REPEATABLE READ"}


ROW_LOCK_OPTIONS = {BEGIN_OPTION: "ROWS"}  # a write session left to row locks (PostgreSQL; SQLite: IMMEDIATE)


def db_error(location: Location, exc: BaseException) -> ProjectError:
    """One line for the user from a driver error."""
    where = location.describe()
    text_ = str(getattr(exc, "orig", exc)).strip().replace("\n", " ")
    low = text_.lower()
    if "locked" in low or "busy" in low or "lock timeout" in low:
        return ProjectError(f"{where}: the project is busy (another process held it locked for too long): {text_}")
    if "malformed" in low:
        return DamagedProjectError(damaged_message(location.db_path, [text_]))
    if "not a database" in low:
        return ProjectError(f"{where}: not a readable project database ({text_})")
    if "unable to open" in low or "readonly" in low or "read-only" in low:
        return ProjectError(f"{where}: cannot open the project database ({text_}); check permissions")
    if "does not exist" in low and "database" in low:
        return ProjectError(f"{where}: the database does not exist on the server; create it first "
                            f"(createdb {location.url.database}) ({text_})")
    if "connection" in low and ("refused" in low or "failed" in low or "timeout" in low or "could not" in low):
        return ProjectError(f"{where}: cannot reach the database server ({text_})")
    if "password" in low or "authentication" in low:
        return ProjectError(f"{where}: the database server refused the login ({text_})")
    return ProjectError(f"{where}: database error ({text_})")


def check_database(location: Location, engine: Engine, full: bool = False,
                   time_limit_s: float | None = QUICK_CHECK_S) -> IntegrityResult:
    """SQLite: `quick_check` (bounded by `time_limit_s`) or the full `integrity_check`.

    PostgreSQL keeps its own pages consistent (write-ahead log, checksums); the check is that the server
    answers, and an unreachable server raises ProjectError.
    """
    if location.embedded:
        raw = engine.raw_connection()
        try:
            return run_check(raw.driver_connection, "integrity_check" if full else "quick_check",
                             None if full else time_limit_s)
        finally:
            raw.close()
    with engine.connect().execution_options(**read_options(location)) as conn:
        conn.execute(text("SELECT 1"))
    return IntegrityResult(True, [])


def check_sqlite_file(db_path) -> IntegrityResult:
    """The full `integrity_check` of an SQLite file on a plain connection (no WAL switch, no engine)."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return run_check(conn, "integrity_check", None)
    finally:
        conn.close()


def reset_sequences(conn: Connection, tables) -> None:
    """After rows were inserted with explicit ids: the next id of each table follows its largest one."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY picks max(id) + 1 by itself
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].type.python_type is not int:
            continue
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
            f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"))

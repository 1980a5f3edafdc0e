"""Where a project's data lives: the one place that turns a project folder into a database URL and a blob folder.

An embedded project is a folder holding `project.sqlite` and `blobs/`. A shared project is a folder holding a
small project file, `contrario-project.json`:

    {"database": "postgresql://inspect@db.plant.lan/citrus", "blobs": "/mnt/inspection/citrus-blobs"}

The database URL may leave out the password (libpq then reads PGPASSWORD or ~/.pgpass). A relative `blobs`
path is relative to the project folder. The project file may also be named directly instead of its folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ProjectError

DB_NAME = "project.sqlite"
BLOBS_DIR = "blobs"
PROJECT_FILE = "contrario-project.json"
SERVER_SCHEMES = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
                  "postgresql+psycopg": "postgresql+psycopg"}


@dataclass(frozen=True)
class Location:
    root: Path  # the project folder
    url: URL  # SQLAlchemy URL of the database
    blob_root: Path

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()  # "sqlite" | "postgresql"

    @property
    def embedded(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def db_path(self) -> Path | None:
        """The SQLite file of an embedded project (None for a database server)."""
        return Path(self.url.database) if self.embedded else None

    def describe(self) -> str:
        """The database as shown to the user: the SQLite file, or the server URL without its password."""
        if self.embedded:
            return str(self.db_path)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    def __str__(self) -> str:
        return self.describe()


def server_url(database: str) -> URL:
    """A PostgreSQL URL as given by the user (postgresql://, postgres://), for the psycopg driver."""
    try:
        url = make_url(database)
    except ArgumentError:
        raise ProjectError(f"{database!r}: not a database URL (expected postgresql://USER@HOST[:PORT]/DATABASE)") from None
    driver = SERVER_SCHEMES.get(url.drivername)
    if driver is None:
        raise ProjectError(f"{url.drivername}: unsupported database (use postgresql://...; "
                           f"leave out --database for an embedded SQLite project)")
    if not url.database:
        raise ProjectError(f"{database!r}: the URL names no database (postgresql://USER@HOST/DATABASE)")
    return url.set(drivername=driver)


def embedded_location(root: Path) -> Location:
    return Location(root, URL.create("sqlite", database=str(root / DB_NAME)), root / BLOBS_DIR)


def _project_root(folder: str | Path) -> Path:
    root = Path(folder).expanduser().resolve()
    if root.name == PROJECT_FILE and root.is_file():
        return root.parent
    return root


def is_project(folder: str | Path) -> bool:
    root = _project_root(folder)
    return (root / DB_NAME).is_file() or (root / PROJECT_FILE).is_file()


def read_project_file(root: Path) -> Location:
    path = root / PROJECT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the project file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{path}: not a readable project file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("database"), str):
        raise ProjectError(f'{path}: the project file names no database (expected {{"database": "postgresql://...", '
                           f'"blobs": "FOLDER"}})')
    blobs = data.get("blobs", BLOBS_DIR)
    if not isinstance(blobs, str) or not blobs:
        raise ProjectError(f"{path}: \"blobs\" must be a folder path")
    try:
        url = server_url(data["database"])
    except ProjectError as exc:
        raise ProjectError(f"{path}: {exc}") from None
    return Location(root, url, (root / os.path.expanduser(blobs)).resolve())


def resolve(folder: str | Path) -> Location:
    """The database and blob folder of an existing project, or ProjectError saying why it is none."""
    root = _project_root(folder)
    if not root.exists():
        raise ProjectError(f"{root}: no such folder")
    if not root.is_dir():
        raise ProjectError(f"{root}: not a folder (a project is a folder holding {DB_NAME} or {PROJECT_FILE})")
    if (root / PROJECT_FILE).is_file():
        return read_project_file(root)
    if not (root / DB_NAME).is_file():
        raise ProjectError(f"{root}: not a Contrario project (no {DB_NAME} or {PROJECT_FILE})")
    return embedded_location(root)


def new_location(folder: str | Path, database: str | None = None, blobs: str | Path | None = None) -> Location:
    """Where a new project in `folder` keeps its data: embedded without `database`, else on that server."""
    root = _project_root(folder)
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root}: exists and is not a folder")
    if is_project(root):
        raise ProjectError(f"{root}: already holds a Contrario project")
    if database is None:
        if blobs is not None:
            raise ProjectError("--blobs needs --database: an embedded project keeps its blobs in its own folder")
        return embedded_location(root)
    blob_root = (root / Path(blobs).expanduser()).resolve() if blobs else root / BLOBS_DIR
    return Location(root, server_url(database), blob_root)


def write_project_file(location: Location) -> None:
    """Write the project file of a server project (the URL as given, password included if it had one)."""
    url = location.url.set(drivername="postgresql").render_as_string(hide_password=False)
    blobs = location.blob_root
    shown = os.path.relpath(blobs, location.root) if location.root in blobs.parents else str(blobs)
    path = location.root / PROJECT_FILE
    tmp = path.with_name(f".{PROJECT_FILE}.tmp")
    tmp.write_text(json.dumps({"database": url, "blobs": shown}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)

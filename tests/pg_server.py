"""A real PostgreSQL server for tests and benchmarks: the one named by $CONTRARIO_TEST_POSTGRES, or a
throwaway one started with initdb/pg_ctl on a temporary data directory and a free localhost port.

initdb refuses to run as root; as root the server runs as the `postgres` user (from the Debian package) or
`nobody`, through runuser, on a data directory owned by that user.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ENV_VAR = "CONTRARIO_TEST_POSTGRES"
_names = itertools.count(1)


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (PATH first, then Debian's /usr/lib/postgresql/N/bin)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK) and os.access(Path(folder) / "pg_ctl", os.X_OK):
            return Path(folder)
    return None


def unavailable_reason() -> str | None:
    if os.environ.get(ENV_VAR):
        return None
    if find_binaries() is None:
        return (f"no PostgreSQL server: set {ENV_VAR}=postgresql://USER@HOST:PORT/postgres or install the "
                f"Debian package postgresql (setup.sh does)")
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[list[str], int | None]:
    """Command prefix and uid for the server: ourselves, or (as root) an unprivileged user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], uid
    raise RuntimeError("running as root and there is no `postgres` or `nobody` user to run PostgreSQL as")


@contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a server; yields the URL of its `postgres` database for the superuser `contrario`."""
    bindir = find_binaries()
    if bindir is None:
        raise RuntimeError(unavailable_reason())
    prefix, uid = _run_as()
    base = Path(tempfile.mkdtemp(prefix="contrario-pg-"))
    if uid is not None:
        os.chown(base, uid, -1)
    data, log, port = base / "data", base / "server.log", _free_port()
    env = dict(os.environ, LC_ALL="C")

    def run(*args: str) -> None:
        done = subprocess.run(prefix + [str(bindir / args[0]), *args[1:]], env=env, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()} {tail}")

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", "contrario", "-E", "UTF8", "--no-sync")
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        run("pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        try:
            yield f"postgresql://contrario@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", str(data), "-w", "-t", "60", "-m", "immediate", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def server() -> Iterator[str]:
    """$CONTRARIO_TEST_POSTGRES when set, else a throwaway server for as long as the context lasts."""
    given = os.environ.get(ENV_VAR)
    if given:
        yield given
        return
    with throwaway_server() as url:
        yield url


def _admin(server_url: str, sql: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql)


def create_database(server_url: str, prefix: str = "contrario_test") -> str:
    """A new empty database on the server; returns its URL."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.getpid()}_{next(_names)}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    _admin(url.set(database="postgres").render_as_string(hide_password=False),
           f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

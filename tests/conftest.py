from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests' jobs take compute slots (core.jobs.slots) from a folder of this test process's own, so that they
# neither wait for nor hold up jobs that other programs run on the machine (tests/jobs/test_slots.py gives each
# of its tests a host of its own).
# A test process started by another one (pytest-xdist's) inherits its folder: it makes its own, or the two
# processes' jobs would wait for each other.
_SLOT_ENV, _SLOT_OWNER_ENV = "CONTRARIO_SLOT_DIR", "CONTRARIO_TEST_SLOT_OWNER"
if _SLOT_ENV not in os.environ or os.environ.get(_SLOT_OWNER_ENV) not in (None, str(os.getpid())):
    os.environ[_SLOT_ENV] = tempfile.mkdtemp(prefix="contrario-test-slots-")
    os.environ[_SLOT_OWNER_ENV] = str(os.getpid())
    atexit.register(shutil.rmtree, os.environ[_SLOT_ENV], True)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n N` runs N test processes side by side: one torch thread each, in this process (set before torch
    # is imported) and in the worker processes it starts, so that together they do not oversubscribe the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("CONTRARIO_THREADS", "1")


def _job_workers_of_this_test_process() -> set[int]:
    """Pids of job worker processes (`python -m core.jobs.worker`) that take their slots from this test process's
    folder: started by its tests, directly or through a command or window they ran."""
    marker = f"{_SLOT_ENV}={os.environ[_SLOT_ENV]}".encode()
    found = set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if b"core.jobs.worker" not in fh.read():
                    continue
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if marker in fh.read().split(b"\0"):
                    found.add(int(entry))
        except OSError:
            continue
    return found


@pytest.fixture(autouse=True)
def _stop_jobs_a_test_left_running():
    """A job a test leaves running (a window closed or a command ended with its job still busy) would hold this
    test process's compute slot and keep the next tests' jobs waiting for it: it is stopped when the test ends."""
    before = _job_workers_of_this_test_process()
    yield
    left = _job_workers_of_this_test_process() - before
    for pid in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + 5.0
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid for pid in left if os.path.exists(f"/proc/{pid}") and not _is_zombie(pid)}
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


REPO_ROOT = Path(__file__).resolve().parents[1]
MTD_ROOT = REPO_ROOT.parent / "shared" / "data" / "mtd" / "magnetic_tile"


@pytest.fixture(scope="session")
def mtd_root(tmp_path_factory) -> Path:
    """The Magnetic Tile Defect dataset (MVTec layout) when it sits beside the checkout, else a generated
    category in the same layout (core.demo.write_demo_category: grey JPEG tiles, defect class `blowhole`)."""
    if (MTD_ROOT / "train" / "good").is_dir():
        return MTD_ROOT
    from core.demo import write_demo_category

    return write_demo_category(tmp_path_factory.mktemp("mtd_like") / "magnetic_tile", seed=3,
                               defect_class="blowhole")


# ---- PostgreSQL: a real server for the tests that run on both dialects ------------------------------------
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `pg_server`
import pg_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostgreSQL server's admin database ($CONTRARIO_TEST_POSTGRES or a throwaway server)."""
    reason = pg_server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with pg_server.server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server):
    """A new empty PostgreSQL database for one test; dropped afterwards."""
    url = pg_server.create_database(postgres_server)
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request) -> str:
    return request.param


@pytest.fixture
def new_project(dialect, request, tmp_path):
    """`new_project(folder, **kw)`: Project.create on the test's dialect (a new database each on PostgreSQL)."""
    from core.store.project import Project

    made = []

    def make(folder=None, **kw):
        if dialect == "postgresql":
            server = request.getfixturevalue("postgres_server")
            url = pg_server.create_database(server)
            made.append(url)
            kw.setdefault("database", url)
        return Project.create(folder or tmp_path / f"project{len(made)}", **kw)

    yield make
    for url in made:
        pg_server.drop_database(url)

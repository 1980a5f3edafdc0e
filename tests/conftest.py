from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests' jobs take compute slots (core.jobs.slots) from a folder of this test process's own, so that they
# neither wait for nor hold up jobs that other programs run on the machine (tests/jobs/test_slots.py gives each
# of its tests a host of its own).
os.environ.setdefault("CONTRARIO_SLOT_DIR", tempfile.mkdtemp(prefix="contrario-test-slots-"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n N` runs N test processes side by side: one torch thread each, in this process (set before torch
    # is imported) and in the worker processes it starts, so that together they do not oversubscribe the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("CONTRARIO_THREADS", "1")

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

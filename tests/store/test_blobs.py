"""The content-addressed blob store: atomic writes, sharding, arrays without pickle."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from core.errors import ProjectError
from core.store.blobs import BlobStore, MissingBlobError


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def test_put_get_bytes(store):
    data = b"hello contrario"
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == store.root / sha[:2] / sha
    assert store.exists(sha) and store.get_bytes(sha) == data and store.verify(sha)
    mtime = store.path(sha).stat().st_mtime_ns
    assert store.put_bytes(data) == sha and store.path(sha).stat().st_mtime_ns == mtime  # never rewritten
    assert list((store.root / "tmp").iterdir()) == []  # no temporary files left behind


def test_put_file_streams_and_checks(store, tmp_path):
    src = tmp_path / "big.bin"
    payload = np.random.default_rng(0).bytes(3 << 20)
    src.write_bytes(payload)
    sha = store.put_file(src)
    assert sha == hashlib.sha256(payload).hexdigest() and store.get_bytes(sha) == payload
    with pytest.raises(ProjectError, match="changed"):
        store.put_file(src.parent / "big.bin", expected_sha="0" * 64)
    assert list((store.root / "tmp").iterdir()) == []


def test_missing_blob(store):
    with pytest.raises(MissingBlobError, match="missing"):
        store.get_bytes("ab" * 32)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


@pytest.mark.parametrize(
    "arr, magic",
    [
        (np.arange(12, dtype=np.uint8).reshape(3, 4), b"\x89PNG"),
        (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000, b"\x89PNG"),
        (np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4), b"\x93NUMPY"),
        (np.array([[True, False], [False, True]]), b"\x93NUMPY"),
        (np.arange(6, dtype=np.int64), b"\x93NUMPY"),
    ],
)
def test_arrays_round_trip(store, arr, magic):
    sha = store.put_array(arr)
    assert store.get_bytes(sha).startswith(magic)
    back = store.get_array(sha)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)


def test_object_arrays_refused(store):
    with pytest.raises(ValueError):
        store.put_array(np.array([{"a": 1}], dtype=object))


def test_pickled_npy_is_never_loaded(store):
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    sha = store.put_bytes(buf.getvalue())
    with pytest.raises(ValueError):
        store.get_array(sha)

"""Tampered data: no cached byte is trusted without a check (README, "Guarantees")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnlab.data import mnist


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in mnist.PACKAGE_DIR.glob("*.gz"):
        (folder / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(mnist.MIRRORS_ENV, "")
    return folder


def test_a_tampered_cache_is_never_trusted(data_copy):
    first = mnist.load_mnist(data_copy)
    (entry,) = mnist.cache_dir().glob("mnist-*.npz")
    import numpy as np

    for tamper in ("zero-images", "shift-labels"):
        arrays = {k: getattr(first, k).copy() for k in mnist.FIELDS}
        if tamper == "zero-images":
            arrays["test_images"][:] = 0
        else:
            arrays["test_labels"] = np.roll(arrays["test_labels"], 1)
        with open(entry, "wb") as f:
            np.savez(f, **arrays)  # right shapes and dtypes, valid zip CRCs: only the content is wrong
        again = mnist.load_mnist(data_copy)
        assert not again.cached  # decoded afresh from the verified files
        assert (again.test_images == first.test_images).all() and (again.test_labels == first.test_labels).all()


def test_a_data_file_changed_in_place_is_refused_despite_its_cache_entry(data_copy):
    mnist.load_mnist(data_copy)  # fills the cache
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    st = path.stat()
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    with pytest.raises(mnist.MnistError, match="t10k-labels-idx1-ubyte"):
        mnist.load_mnist(data_copy)


def test_the_published_checksum_is_what_idx_sha256_computes():
    data = mnist.load_mnist()
    assert mnist.idx_sha256(data.test_labels) == mnist.FILES["t10k-labels-idx1-ubyte"][0]
    assert Path(mnist.PACKAGE_DIR).is_dir()

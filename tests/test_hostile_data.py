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


# ----------------------------------------------------------------------------------------------------
# Bounded decompression: a file never decompresses past the size its IDX header must have (issue 29)


def gzip_of_zeros(megabytes: int) -> bytes:
    """A gzip bomb: `megabytes` MiB of zeros compressed (~50 kB for 50 MiB), built chunk by chunk so the test
    itself never holds the expanded bytes."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(megabytes)) + packer.flush()


def peak_traced_bytes(call) -> tuple[int, BaseException | None]:
    """(peak bytes allocated by Python while `call()` ran, the exception it raised)."""
    import tracemalloc

    tracemalloc.start()
    try:
        call()
        raised = None
    except BaseException as exc:  # noqa: BLE001 - returned to the test to assert on
        raised = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, raised


def test_a_gzip_bomb_in_the_data_dir_is_refused_within_the_files_known_size(data_copy):
    name = "train-images-idx3-ubyte"  # read first; its IDX header fixes it at 16 + 60000 * 28 * 28 bytes (~45 MiB)
    (data_copy / f"{name}.gz").write_bytes(gzip_of_zeros(120))
    peak, raised = peak_traced_bytes(lambda: mnist.load_mnist(data_copy, cache=False))
    assert isinstance(raised, mnist.MnistError), raised
    assert f"{name}.gz" in str(raised) and "\n" not in str(raised) and "more than" in str(raised)
    assert peak < 100 * 2**20  # the cap (~45 MiB) and change; expanding all 120 MiB would not pass


def test_a_gzip_bomb_alone_costs_no_more_than_its_cap(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip_of_zeros(20))
    peak, raised = peak_traced_bytes(lambda: mnist.read_file(path))
    assert isinstance(raised, mnist.MnistError) and "t10k-labels-idx1-ubyte.gz" in str(raised), raised
    assert peak < 4 * 2**20


def test_a_plain_idx_file_larger_than_its_known_size_is_refused_unread(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(bytes(30 * 2**20))
    peak, raised = peak_traced_bytes(lambda: mnist.read_file(path))
    assert isinstance(raised, mnist.MnistError) and "t10k-labels-idx1-ubyte" in str(raised), raised
    assert peak < 4 * 2**20


def test_a_downloaded_bomb_is_refused_within_its_cap(tmp_path):
    partial = tmp_path / "t10k-labels-idx1-ubyte.gz.partial"
    partial.write_bytes(gzip_of_zeros(20))
    peak, raised = peak_traced_bytes(lambda: mnist.read_file(partial, gz=True, name="t10k-labels-idx1-ubyte"))
    assert isinstance(raised, mnist.MnistError), raised
    assert peak < 4 * 2**20


def test_a_multi_member_gzip_still_reads_as_gzip_decompress_does(tmp_path):
    import gzip

    import numpy as np

    raw = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(range(5))
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(raw[:6]) + gzip.compress(raw[6:]) + bytes(3))  # two members, zero padding
    assert mnist.read_file(path) == raw
    assert (mnist.parse_idx(mnist.read_file(path)) == np.arange(5)).all()


def test_a_gz_far_larger_than_any_gzip_of_its_file_is_refused_unread(tmp_path):
    import gzip

    real = mnist.read_file(mnist.PACKAGE_DIR / "t10k-labels-idx1-ubyte.gz")
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes(real)) + bytes(8 * 2**20))  # valid to gzip.decompress: zero padding
    with pytest.raises(mnist.MnistError, match="compressed bytes"):
        mnist.read_file(path)

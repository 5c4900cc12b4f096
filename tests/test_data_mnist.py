"""MNIST data: the IDX parser on synthetic files, every corruption case, the cache, the download path."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from nnlab.data import mnist
from nnlab.data.download import DownloadError
from nnlab.data.mnist import FILES, MnistError, load_mnist, parse_idx, write_idx


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own cache and no data-dir or mirror override from the environment."""
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(mnist.DATA_ENV, raising=False)
    monkeypatch.setenv(mnist.MIRRORS_ENV, "")  # never the internet from a test


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX written independently of write_idx: struct-free, byte by byte."""
    header = bytes([0, 0, 8, array.ndim])
    for s in array.shape:
        header += int(s).to_bytes(4, "big")
    return header + array.astype(np.uint8).tobytes()


# ----------------------------------------------------------------------------------------------------
# Parser


def test_parse_idx_reads_shape_big_endian_and_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 5, 7), dtype=np.uint8)
    raw = idx_bytes(images)
    assert raw[4:8] == b"\x00\x00\x00\x03" and raw[8:12] == b"\x00\x00\x00\x05"  # big-endian sizes
    out = parse_idx(raw)
    assert out.dtype == np.uint8 and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, images)
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels)), labels)


def test_size_above_65535_needs_all_four_header_bytes():
    labels = np.arange(70_000, dtype=np.int64) % 10  # 70000 = 0x00011170: a little-endian reader gets it wrong
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels)), labels.astype(np.uint8))


def test_write_idx_round_trips_gzip_and_plain(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("x.gz", "x"):
        path = write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(parse_idx(mnist.read_file(path)), a)
    assert gzip.decompress((tmp_path / "x.gz").read_bytes()) == idx_bytes(a)


GOOD = idx_bytes(np.zeros((2, 4, 4), dtype=np.uint8))


@pytest.mark.parametrize(("raw", "message"), [
    (b"\x00\x00", "truncated IDX header"),
    (b"\x08\x03" + GOOD[2:], "not an IDX file"),
    (GOOD[:2] + b"\x0d" + GOOD[3:], "element type 0x0d"),
    (GOOD[:10], "truncated IDX header"),
    (GOOD[:-1], "truncated: 31 data bytes, expected 32"),
    (GOOD + b"\x00", "trailing bytes"),
    (GOOD[:3] + b"\x00", "0 dimensions"),
])
def test_corrupt_idx_is_a_clear_error_naming_the_file(raw, message):
    with pytest.raises(MnistError, match="some-file") as info:
        parse_idx(raw, "some-file")
    assert message in str(info.value)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    path = write_idx(tmp_path / "a.gz", np.zeros((50, 28, 28), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MnistError, match=r"a\.gz: truncated gzip"):
        mnist.read_file(path)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(MnistError, match=r"a\.gz: not a valid gzip"):
        mnist.read_file(path)


# ----------------------------------------------------------------------------------------------------
# The real files


def copy_package_files(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(mnist.PACKAGE_DIR / f"{name}.gz", dest / f"{name}.gz")
    return dest


def test_shipped_files_match_the_published_facts():
    data = load_mnist()
    assert data.train_images.shape == (60000, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (10000, 28, 28) and data.test_labels.shape == (10000,)
    assert np.bincount(data.train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(data.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    pixels = data.train_images.astype(np.float64) / 255
    assert abs(pixels.mean() - 0.1307) < 1e-4 and abs(pixels.std() - 0.3081) < 1e-4
    assert not data.cached


def test_cache_returns_identical_arrays_and_survives_corruption(tmp_path):
    first = load_mnist()
    second = load_mnist()
    assert second.cached
    for key in mnist.FIELDS:
        np.testing.assert_array_equal(getattr(first, key), getattr(second, key))
    (entry,) = (tmp_path / "cache").glob("mnist-*.npz")
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte inside the training images
    entry.write_bytes(bytes(raw))
    third = load_mnist()
    assert not third.cached
    np.testing.assert_array_equal(third.train_images, first.train_images)


def test_a_run_reads_the_data_its_prepare_checked_once_unless_the_files_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "_kept", None)
    folder = copy_package_files(tmp_path / "data")
    prepared = mnist.prepare_mnist(folder)
    assert mnist.run_mnist(folder) is prepared  # no second read, hash and decode
    other = copy_package_files(tmp_path / "other")
    assert mnist.run_mnist(other) is not prepared  # another folder: loaded on its own
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes())  # rewritten in place: the same bytes, a new mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again = mnist.run_mnist(folder)
    assert again is not prepared and np.array_equal(again.test_labels, prepared.test_labels)


def test_data_dir_env_and_wrong_file(tmp_path, monkeypatch):
    folder = copy_package_files(tmp_path / "data")
    monkeypatch.setenv(mnist.DATA_ENV, str(folder))
    assert load_mnist(cache=False).source == folder
    # Right format, wrong content: the checksum must catch it, naming the file and what was expected.
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(10000, dtype=np.uint8))
    with pytest.raises(MnistError, match=r"t10k-labels-idx1-ubyte\.gz: SHA-256 .* expected ff7bcfd416de3373"):
        load_mnist()
    # Truncated on disk.
    data = (mnist.PACKAGE_DIR / "t10k-images-idx3-ubyte.gz").read_bytes()
    shutil.copy(mnist.PACKAGE_DIR / "t10k-labels-idx1-ubyte.gz", folder)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[:-100])
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz: truncated gzip"):
        load_mnist()
    # Missing, no download allowed.
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz is missing"):
        load_mnist(download=False)


# ----------------------------------------------------------------------------------------------------
# Download over HTTP on 127.0.0.1


class Server:
    """Serves `files`: name -> (body, declared Content-Length or None for the true length)."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, int | None]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                name = self.path.rsplit("/", 1)[-1]
                if name not in files:
                    self.send_error(404)
                    return
                body, declared = files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(declared if declared is not None else len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"  # nothing listens there any more


NAME = "t10k-labels-idx1-ubyte"


def test_download_good_file_after_a_dead_mirror(server, tmp_path):
    good = (mnist.PACKAGE_DIR / f"{NAME}.gz").read_bytes()
    server.files[f"{NAME}.gz"] = (good, None)
    folder = tmp_path / "dl"
    paths = mnist.ensure_files(folder, names=[NAME], mirrors=(free_port_url(), server.url))
    assert paths[NAME].read_bytes() == good
    assert not list(folder.glob("*.partial"))


@pytest.mark.parametrize("case", ["truncated-gzip", "short-body", "wrong-checksum", "server-gone"])
def test_download_failures_are_clear_and_leave_nothing(server, tmp_path, case):
    good = (mnist.PACKAGE_DIR / f"{NAME}.gz").read_bytes()
    expected = {
        "truncated-gzip": "truncated gzip",
        "short-body": "truncated",
        "wrong-checksum": "SHA-256",
        "server-gone": "refused",
    }[case]
    if case == "truncated-gzip":
        server.files[f"{NAME}.gz"] = (good[:1000], None)
    elif case == "short-body":
        server.files[f"{NAME}.gz"] = (good[:1000], len(good))
    elif case == "wrong-checksum":
        server.files[f"{NAME}.gz"] = (gzip.compress(idx_bytes(np.zeros(10000, dtype=np.uint8))), None)
    url = free_port_url() if case == "server-gone" else server.url
    folder = tmp_path / "dl"
    with pytest.raises(DownloadError, match=expected) as info:
        mnist.ensure_files(folder, names=[NAME], mirrors=(url,))
    assert f"{NAME}.gz" in str(info.value) and "offline?" in str(info.value)
    assert not (folder / f"{NAME}.gz").exists() and not list(folder.glob("*.partial"))


def test_load_mnist_downloads_missing_files_through_the_cli_env(server, tmp_path, monkeypatch):
    folder = copy_package_files(tmp_path / "data")
    (folder / f"{NAME}.gz").unlink()
    server.files[f"{NAME}.gz"] = ((mnist.PACKAGE_DIR / f"{NAME}.gz").read_bytes(), None)
    monkeypatch.setenv(mnist.MIRRORS_ENV, server.url)
    data = load_mnist(folder)
    assert (folder / f"{NAME}.gz").is_file() and np.bincount(data.test_labels)[0] == 980


def test_a_download_larger_than_any_gzip_of_its_file_is_cut_off(server, tmp_path):
    server.files[f"{NAME}.gz"] = (bytes(300_000), None)  # the labels' .gz is 4.5 kB; an endless body must stop
    folder = tmp_path / "dl"
    with pytest.raises(DownloadError, match="more than") as info:
        mnist.ensure_files(folder, names=[NAME], mirrors=(server.url,))
    assert "\n" not in str(info.value)
    assert not (folder / f"{NAME}.gz").exists() and not list(folder.glob("*.partial"))

"""MNIST: the four canonical IDX files, parsed here, checked by SHA-256, cached decoded.

    data = load_mnist()                      # the copy shipped in nnlab/data/mnist (or NNLAB_DATA_DIR)
    data.train_images  uint8 (60000, 28, 28)  data.train_labels  uint8 (60000,)
    data.test_images   uint8 (10000, 28, 28)  data.test_labels   uint8 (10000,)

The IDX format (LeCun et al.): a big-endian header, then the items in C order:

    bytes 0-1   0x00 0x00
    byte  2     element type (0x08 = unsigned byte, the only one MNIST uses)
    byte  3     number of dimensions d
    4 .. 4+4d   d sizes, each an unsigned 32-bit big-endian integer
    the rest    prod(sizes) elements

Where the files come from: `data_dir`, else $NNLAB_DATA_DIR, else the package's own copy (else, if an
install lacks it, <cache>/mnist). A missing file is downloaded from MIRRORS (or $NNLAB_MNIST_MIRRORS,
comma-separated) into that folder. Every file's decompressed content must match the published SHA-256;
a corrupt, truncated or wrong file is a UserError naming the file and what was expected, never a
silently wrong array.

Decoded arrays are cached in $NNLAB_CACHE_DIR (else $XDG_CACHE_HOME/nnlab, else ~/.cache/nnlab) as one
uncompressed .npz, keyed by the SHA-256 of the source files' bytes as they are on disk now (a file
changed in place, whatever its size and mtime, misses the cache and is verified again), and no cached
byte is trusted: on load each array, with its IDX header rebuilt, must hash to the published SHA-256.
A load then costs hashing ~55 MB instead of decompressing and parsing (see benchmarks/ to measure).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.core import atomic
from nnlab.core.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent / "mnist"  # the shipped files, beside this module
DATA_ENV = "NNLAB_DATA_DIR"
CACHE_ENV = "NNLAB_CACHE_DIR"
MIRRORS_ENV = "NNLAB_MNIST_MIRRORS"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# name -> (SHA-256 of the decompressed file, expected shape)
FILES = {
    "train-images-idx3-ubyte": ("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
    "train-labels-idx1-ubyte": ("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
    "t10k-images-idx3-ubyte": ("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": ("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
}
FIELDS = {  # MnistData field -> file
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Pixel statistics of the training set in [0, 1] (checked by the tests), used to normalise inputs.
MEAN, STD = 0.1307, 0.3081


class MnistError(UserError):
    """A data file is missing, corrupt, truncated or not the one expected."""


@dataclass
class MnistData:
    train_images: np.ndarray  # uint8 (60000, 28, 28)
    train_labels: np.ndarray  # uint8 (60000,)
    test_images: np.ndarray   # uint8 (10000, 28, 28)
    test_labels: np.ndarray   # uint8 (10000,)
    source: Path              # the folder the files came from
    cached: bool = False      # True when read from the decoded cache


# ----------------------------------------------------------------------------------------------------
# The IDX format


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode one IDX file's bytes into a uint8 array of its declared shape (see the module docstring)."""
    if len(raw) < 4:
        raise MnistError(f"{name}: truncated IDX header ({len(raw)} bytes, expected at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise MnistError(f"{name}: not an IDX file (magic starts {raw[:2].hex()}, expected 0000)")
    if raw[2] != 0x08:
        raise MnistError(f"{name}: element type 0x{raw[2]:02x}, expected 0x08 (unsigned byte)")
    ndim = raw[3]
    if ndim == 0:
        raise MnistError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MnistError(f"{name}: truncated IDX header ({len(raw)} bytes, expected {header} for {ndim} sizes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        what = "truncated" if len(raw) - header < size else "has trailing bytes"
        raise MnistError(f"{name}: {what}: {len(raw) - header} data bytes, expected {size} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable, owns its memory


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write a uint8 array as an IDX file (gzip when the name ends in .gz): the inverse of parse_idx."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + array.tobytes()  # idx_sha256(array) is the SHA-256 of these bytes
    path = Path(path)
    if compress if compress is not None else path.suffix == ".gz":
        raw = gzip.compress(raw, mtime=0)
    path.write_bytes(raw)
    return path


def idx_size(name: str) -> int:
    """The exact size in bytes of the decompressed MNIST file `name`: its header (4 + 4 per dimension) and one
    byte per element of the shape FILES gives it."""
    shape = FILES[name][1]
    return 4 + 4 * len(shape) + int(np.prod(shape, dtype=np.int64))


# Any other IDX file (write_idx's round trips) may be as large as the largest MNIST file, no larger.
MAX_IDX_BYTES = max(idx_size(name) for name in FILES)
# Deflate never expands a stream by more than ~0.03% (+ 5 bytes a 16 kB block); a gzip header may carry a name
# and comment: a valid .gz of a file of `n` bytes is well under n + n // 64 + 64 kB. Larger is refused unread.
GZ_SLACK = 64 * 1024
READ_CHUNK = 1 << 20  # compressed bytes fed to the decompressor at a time


def gz_size_limit(size: int) -> int:
    """The most bytes a gzip of `size` bytes may take (see GZ_SLACK); more is refused unread, or not downloaded."""
    return size + size // 64 + GZ_SLACK


def mnist_name(path: Path, name: str | None) -> str | None:
    """Which of the four files `path` is meant to be (`name`, else its own name without .gz/.partial), or None."""
    stem = name or path.name.removesuffix(".partial").removesuffix(".gz")
    return stem if stem in FILES else None


def read_file(path: Path, gz: bool | None = None, name: str | None = None) -> bytes | bytearray:
    """The decompressed bytes of `path` (gzip if `gz`, default: a .gz name), gzip damage as MnistError.

    Bounded: the output may not exceed the known size of the file (idx_size of `name`, else of the file's own
    name; MAX_IDX_BYTES for any other file), so a gzip bomb costs at most that much memory before it is
    refused in one line; a plain file is read no further than that size."""
    known = mnist_name(path, name)
    limit = idx_size(known) if known else MAX_IDX_BYTES
    what = f"{limit} bytes of {known}" if known else f"{limit} bytes of the largest MNIST file"
    gz = gz if gz is not None else path.suffix == ".gz"
    try:
        with open(path, "rb") as f:
            if gz:
                return gunzip_bounded(f, limit, what, path)
            data = f.read(limit + 1)
    except OSError as exc:
        raise MnistError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise MnistError(f"{path}: more than the {what}; delete it to download again")
    return data


def gunzip_bounded(f, limit: int, what: str, path: Path) -> bytearray:
    """Decompress the gzip stream in `f` (one or more members, zero padding after them allowed, as
    gzip.decompress reads it) into at most `limit` bytes, reading at most what a gzip of them can take."""
    stored_limit = gz_size_limit(limit)
    out = bytearray()
    stored = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: gzip header and trailer (CRC-32, length) checked
    fed = False  # whether the current member has had any input
    try:
        while chunk := f.read(READ_CHUNK):
            stored += len(chunk)
            if stored > stored_limit:
                raise MnistError(f"{path}: {stored}+ compressed bytes, more than a gzip of the {what} can have; "
                                 "delete it to download again")
            while chunk:
                if inflater.eof:  # a member ended: what follows is zero padding or another member
                    chunk = chunk.lstrip(b"\0")
                    if not chunk:
                        break
                    inflater, fed = zlib.decompressobj(16 + zlib.MAX_WBITS), False
                fed = True
                out += inflater.decompress(chunk, limit + 1 - len(out))  # max_length (>= 1): never past the cap
                if len(out) > limit:
                    raise MnistError(f"{path}: decompresses to more than the {what}; delete it to download again")
                chunk = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
    except zlib.error as exc:
        raise MnistError(f"{path}: not a valid gzip file ({exc}); delete it to download again") from None
    if fed and not inflater.eof:
        raise MnistError(f"{path}: truncated gzip stream ({stored} bytes); delete it to download again")
    return out  # not bytes(out): that would copy up to 45 MiB for nothing


def check_sha256(raw: bytes, name: str, path: Path) -> None:
    expected = FILES[name][0]
    got = hashlib.sha256(raw).hexdigest()
    if got != expected:
        raise MnistError(f"{path}: SHA-256 of the decompressed content is {got[:16]}..., expected "
                         f"{expected[:16]}... for {name} (wrong or corrupt file; delete it to download again)")


def load_file(path: Path, name: str) -> np.ndarray:
    """Read, verify and decode one of the four files; its shape must be MNIST's."""
    raw = read_file(path, name=name)
    check_sha256(raw, name, path)
    array = parse_idx(raw, str(path))
    if array.shape != FILES[name][1]:  # unreachable with a matching checksum; kept as a cheap guard
        raise MnistError(f"{path}: shape {array.shape}, expected {FILES[name][1]}")
    return array


# ----------------------------------------------------------------------------------------------------
# Where the files are


def data_dir_for(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    if all(find(PACKAGE_DIR, name) for name in FILES):
        return PACKAGE_DIR
    return cache_dir() / "mnist"  # an install without the shipped copy: download into the user's cache


def find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def mirrors_from_env() -> tuple[str, ...]:
    env = os.environ.get(MIRRORS_ENV)
    return tuple(m.strip() for m in env.split(",") if m.strip()) if env is not None else MIRRORS


def ensure_files(folder: Path, download: bool = True, mirrors: tuple[str, ...] | None = None,
                 names: tuple[str, ...] | list[str] = tuple(FILES)) -> dict[str, Path]:
    """The path of each file in `folder` (all four by default), downloading the missing ones when allowed."""
    from nnlab.data.download import download as fetch

    paths = {}
    for name in names:
        path = find(folder, name)
        if path is None:
            if not download:
                raise MnistError(f"{folder / (name + '.gz')} is missing (expected the MNIST file {name}.gz)")

            def verify(partial: Path, name: str = name) -> None:
                try:
                    check_sha256(read_file(partial, gz=True, name=name), name, partial)
                except MnistError as exc:
                    raise ValueError(str(exc).removeprefix(f"{partial}: ")) from None

            path = fetch(f"{name}.gz", folder / f"{name}.gz", mirrors if mirrors is not None else mirrors_from_env(),
                         verify, max_bytes=gz_size_limit(idx_size(name)))
        paths[name] = path
    return paths


# ----------------------------------------------------------------------------------------------------
# The decoded cache


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "nnlab"


def cache_key(paths: dict[str, Path]) -> str:
    """The content of the source files (SHA-256 of their bytes on disk) and the checksums they must decode to."""
    h = hashlib.sha256()
    for name, path in sorted(paths.items()):
        try:
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()  # in chunks: any size costs no memory
        except OSError as exc:
            raise MnistError(f"{path}: cannot read ({exc.strerror or exc})") from None
        h.update(f"{name}|{digest}|{FILES[name][0]}\n".encode())
    return h.hexdigest()[:24]


def idx_sha256(array: np.ndarray) -> str:
    """SHA-256 of the IDX file that holds `array` (header rebuilt): what FILES publishes for each file."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    h = hashlib.sha256(header)
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the entry is missing, fails the zip's CRC-32 or has a wrong shape."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in FIELDS}  # zipfile checks each member's CRC-32 as it reads it
    except (OSError, KeyError, ValueError, zlib.error, EOFError, zipfile.BadZipFile):
        return None
    for key, name in FIELDS.items():
        if arrays[key].dtype != np.uint8 or arrays[key].shape != FILES[name][1]:
            return None
        if idx_sha256(arrays[key]) != FILES[name][0]:  # a tampered or stale entry: decode the files again
            return None
    return arrays


def write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Best effort: a read-only or full disk only costs the next run a decode."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)  # uncompressed: loading is a copy, and the zip keeps a CRC-32 per array


# ----------------------------------------------------------------------------------------------------
# The API


def load_mnist(data_dir: str | Path | None = None, *, download: bool = True, cache: bool = True,
               mirrors: tuple[str, ...] | None = None) -> MnistData:
    """MNIST as uint8 numpy arrays (see the module docstring for where the files come from)."""
    folder = data_dir_for(data_dir)
    paths = ensure_files(folder, download=download, mirrors=mirrors)
    entry = cache_dir() / f"mnist-{cache_key(paths)}.npz" if cache else None
    if entry is not None and entry.is_file():
        arrays = read_cache(entry)
        if arrays is not None:
            return MnistData(**arrays, source=folder, cached=True)
        with contextlib.suppress(OSError):
            entry.unlink()
    arrays = {key: load_file(paths[name], name) for key, name in FIELDS.items()}
    if entry is not None:
        write_cache(entry, arrays)
    return MnistData(**arrays, source=folder, cached=False)


# ----------------------------------------------------------------------------------------------------
# One load a run: an experiment's prepare() checks the data before its run directory exists; its run()
# takes the same arrays instead of reading, hashing and decoding them again (~0.2 s of one core each time)

_kept: tuple[tuple, MnistData] | None = None  # (the source files' identity when loaded, the data)


def source_key(data_dir: str | Path | None) -> tuple | None:
    """The files a load of `data_dir` reads, as (folder, (name, size, mtime, inode) each); None when some are
    missing. Cheap (no hashing): it only tells prepare's files from other ones within one process, and
    load_mnist itself still checks every byte it reads against the published SHA-256."""
    folder = data_dir_for(data_dir)
    try:
        stats = []
        for name, path in sorted(ensure_files(folder, download=False).items()):
            st = path.stat()
            stats.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
    except (MnistError, OSError):
        return None
    return folder, tuple(stats)


def prepare_mnist(data_dir: str | Path | None = None) -> MnistData:
    """load_mnist, kept for the run that follows (see run_mnist)."""
    global _kept
    key = source_key(data_dir)
    data = load_mnist(data_dir)
    _kept = (key, data) if key is not None and key == source_key(data_dir) else None  # unchanged while loading
    return data


def run_mnist(data_dir: str | Path | None = None) -> MnistData:
    """The arrays prepare_mnist kept, while the source files are still the same ones; else load_mnist."""
    if _kept is not None and _kept[0] == source_key(data_dir):
        return _kept[1]
    return load_mnist(data_dir)

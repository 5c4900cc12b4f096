"""Device choice: `auto` takes CUDA, then Apple MPS, then the CPU; asking for an absent device is a user error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from nnlab.core.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")


def probe() -> tuple[bool, bool]:
    """(CUDA available, Apple MPS available), as this process's torch sees them."""
    import torch

    mps = getattr(torch.backends, "mps", None)  # absent from some torch builds
    return torch.cuda.is_available(), bool(mps is not None and mps.is_available())


def mps_built() -> bool:
    """Whether this torch was compiled with MPS support (only macOS wheels are)."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_built())


def resolve_device(name: str, available: Callable[[], tuple[bool, bool]] | None = None) -> str:
    """The torch device for `--device name`: cpu, cuda or mps.

    `available()` gives (cuda, mps) availability; by default `probe()` (tests pass fakes). `cpu` probes
    nothing, so it never pays for initialising a GPU driver.
    """
    if name not in DEVICES:
        raise UserError(f"--device: {name!r} is not one of {', '.join(DEVICES)}")
    if name == "cpu":
        return "cpu"
    cuda, mps = (available or probe)()
    if name == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if name == "cuda" and not cuda:
        raise UserError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    if name == "mps" and not mps:
        raise UserError("--device mps: no Apple MPS device is available here (use --device cpu or auto)")
    return name


def describe(device: str) -> str:
    """A human name for the device, for meta.json."""
    import torch

    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if device == "mps":
        import platform

        return f"mps (Apple GPU, macOS {platform.mac_ver()[0] or 'unknown'})"
    return f"cpu ({torch.get_num_threads()} threads)"


def available_cores() -> int:
    """CPU cores this process may use: its affinity mask on Linux, else every core; fewer where NNLAB_CORES says
    so (a worker of `nnlab lecture --jobs N`, which has its share of the machine's cores)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    share = os.environ.get("NNLAB_CORES", "")
    return max(1, min(cores, int(share))) if share.isdigit() else cores


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """torch's intra-op threads and numpy's OpenBLAS threads set to `n` for the block (0: every core this
    process may use; None: leave both as they are), then restored. The one thread limiter: the runner applies
    a command's `threads` key with it; a run may narrow it for a part (a few tiny tensors are fastest on one
    thread: OpenMP's synchronisation costs more than their arithmetic on a busy machine)."""
    if n is None:
        yield
        return
    import torch

    n = n or available_cores()
    blas = openblas()
    before_torch, before_blas = torch.get_num_threads(), blas[0]() if blas else None
    torch.set_num_threads(n)
    if blas:
        blas[1](n)
    try:
        yield
    finally:
        torch.set_num_threads(before_torch)
        if blas:
            blas[1](before_blas)


def current_threads() -> dict[str, int | None]:
    """{"torch": its intra-op threads, "numpy_blas": OpenBLAS's threads, None where it cannot be reached}."""
    import torch

    blas = openblas()
    return {"torch": torch.get_num_threads(), "numpy_blas": blas[0]() if blas else None}


def openblas() -> Any:
    """numpy's OpenBLAS library (ctypes), found among the loaded libraries; None where there is none."""
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None

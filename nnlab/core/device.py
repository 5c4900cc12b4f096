"""Device choice: `auto` takes CUDA, then Apple MPS, then the CPU; asking for an absent device is a user error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

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
    """CPU cores this process may use (its affinity mask on Linux, else every core)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to `n` (0: every available core) for the block, then restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n or available_cores())
    try:
        yield
    finally:
        torch.set_num_threads(before)

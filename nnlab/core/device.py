"""Device choice: `auto` means CUDA when present, else CPU; asking for CUDA without one is a user error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nnlab.core.errors import UserError


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    return name


def describe(device: str) -> str:
    """A human name for the device, for meta.json."""
    import torch

    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
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

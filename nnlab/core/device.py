"""Device choice: `auto` means CUDA when present, else CPU; asking for CUDA without one is a user error."""

from __future__ import annotations

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

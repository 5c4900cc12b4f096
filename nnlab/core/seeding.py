"""One seed seeds everything: python's random, numpy, torch (CPU and CUDA)."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed every global generator and return a fresh numpy Generator for the experiment's own use.

    Experiments should draw from the returned generator (or a torch.Generator seeded from `seed`), never
    from global state; the global seeds are a safety net for library code that does.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: str = "cpu"):
    """A torch.Generator on `device` seeded with `seed` (CPU and CUDA streams differ; CPU is the reference)."""
    import torch

    return torch.Generator(device=device).manual_seed(seed)

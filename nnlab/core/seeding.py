"""One seed seeds everything: python's random, numpy, torch (CPU and CUDA), and every named stream.

Experiments draw their randomness from *named streams*: `stream(seed, "weights")`,
`stream(seed, "sgd-noise", method, k)`. Each (seed, name, keys...) tuple is hashed into numpy's
SeedSequence, so two uses with different names never share a stream (numeric salts could collide:
seed 7 of one use met seed 0 + 7 of another), and adding a use never shifts the numbers of another.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed every global generator and return the run's main numpy Generator (`stream(seed, "main")`).

    Experiments should draw from named streams, never from global state; the global seeds are a safety
    net for library code that does.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)  # also seeds every CUDA device
    return stream(seed, "main")


def _words(seed: int, name: str, keys: tuple[object, ...]) -> list[int]:
    """The entropy of a stream: the seed's 32-bit words, then a hash of the name and the keys."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    label = "\x1f".join([name, *map(str, keys)]).encode()
    digest = hashlib.blake2b(label, digest_size=16).digest()
    seed_words = [(seed >> (32 * i)) & 0xFFFFFFFF for i in range(max(1, (seed.bit_length() + 31) // 32))]
    return [*seed_words, len(seed_words), *np.frombuffer(digest, dtype="<u4").tolist()]


def stream(seed: int, name: str, *keys: object) -> np.random.Generator:
    """A numpy Generator for the use `name` (and optional keys: a method, an index) of the run's seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(_words(seed, name, keys))))


def stream_seed(seed: int, name: str, *keys: object) -> int:
    """A 63-bit integer seed for the named stream, for libraries that take an int (torch)."""
    state = np.random.SeedSequence(_words(seed, name, keys)).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def torch_stream(seed: int, name: str, *keys: object, device: str = "cpu"):
    """A torch.Generator on `device` for the named stream (CPU and CUDA draws differ; CPU is the reference)."""
    import torch

    return torch.Generator(device=device).manual_seed(stream_seed(seed, name, *keys))


def torch_generator(seed: int, device: str = "cpu"):
    """A torch.Generator on `device` seeded with `seed` itself (kept for the init experiment's slide draw)."""
    import torch

    return torch.Generator(device=device).manual_seed(seed)

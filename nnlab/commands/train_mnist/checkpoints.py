"""`nnlab train-mnist`'s checkpoints: written atomically with their SHA-256 beside them, and read back only
when the bytes match that hash, hold plain tensors and values (weights_only=True: no code ever runs) and
fit the run's config."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from nnlab.commands.train_mnist.config import TrainMnistConfig
from nnlab.commands.train_mnist.model import build_model, make_optimizer

CHECKPOINT = "checkpoints/last.pt"  # in the run directory: written after every epoch, read by --resume
CHECKPOINT_KEYS = ("model", "optimizer", "scaler", "shuffle", "torch_rng", "cuda_rng", "history", "state")
STATE_KEYS = ("epoch", "step", "train_s", "time_to_target_s", "diverged")


def checksum_path(path: Path) -> Path:
    """checkpoints/last.pt -> checkpoints/last.pt.sha256: the hex SHA-256 of the checkpoint's bytes."""
    return path.with_name(path.name + ".sha256")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """torch.save to a temporary sibling, then rename; then its SHA-256 beside it (also renamed into place).

    `state` holds tensors, numbers, strings, lists and dicts only, so torch.load(weights_only=True) reads it.
    A crash between the two renames leaves a checkpoint whose checksum does not match: --resume refuses it.
    """
    import torch

    from nnlab.core import atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    atomic.write_text(checksum_path(path), f"{digest}  {path.name}\n")  # sha256sum's format


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint at `path`, only if its bytes match the stored SHA-256 and it holds plain values and every
    key a resume needs (else UserError, one line). Never unpickles code: weights_only=True."""
    import torch

    from nnlab.core.config import excerpt
    from nnlab.core.errors import UserError

    if not path.is_file():
        raise UserError(f"--resume: no checkpoint at {path} (the run stopped before its first epoch ended)")
    sums = checksum_path(path)
    try:
        data = path.read_bytes()
        expected = sums.read_text(encoding="ascii").split()[0] if sums.is_file() else None
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise UserError(f"--resume: cannot read {path} or its checksum: {excerpt(str(exc), 80)}") from None
    if expected is None:
        raise UserError(f"--resume: {path} has no checksum file {sums.name}; refusing to trust it")
    if hashlib.sha256(data).hexdigest() != expected:
        raise UserError(f"--resume: {path} does not match its SHA-256 in {sums.name} (damaged or altered)")
    try:  # from the bytes just hashed: the file cannot change between the check and the load
        ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--resume: {path} is not a plain checkpoint (tensors and values only): "
                        f"{excerpt(first, 80)}") from None
    missing = list(CHECKPOINT_KEYS) if not isinstance(ckpt, dict) else [k for k in CHECKPOINT_KEYS if k not in ckpt]
    state = ckpt.get("state") if isinstance(ckpt, dict) else None
    if not missing:
        missing = [f"state.{k}" for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise UserError(f"--resume: {path} lacks {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
    return ckpt


def check_states(config: TrainMnistConfig, ckpt: dict[str, Any], path: Path) -> None:
    """Load the checkpoint's states into a fresh model, optimizer and generators (the global RNG untouched): a
    checkpoint that does not fit this config is refused before the run is reopened, not halfway through it."""
    import torch

    from nnlab.core.config import excerpt
    from nnlab.core.errors import UserError

    try:
        with torch.random.fork_rng(devices=[]):  # build_model draws initial weights from the global generator
            model = build_model(config)
        model.load_state_dict(ckpt["model"])
        optimizer = make_optimizer(config, model.parameters())
        optimizer.load_state_dict(ckpt["optimizer"])
        for value in optimizer.state.values():  # load_state_dict does not compare the state's shapes with x's
            if torch.is_tensor(value) and value.shape != optimizer.x.shape:
                raise ValueError(f"optimizer state of shape {tuple(value.shape)} for {optimizer.x.numel()} weights")
        torch.Generator().set_state(ckpt["shuffle"])
        torch.Generator().set_state(ckpt["torch_rng"])
        state, history = ckpt["state"], ckpt["history"]
        if not (isinstance(state["epoch"], int) and isinstance(state["step"], int) and isinstance(history, list)
                and len(history) == state["epoch"] and isinstance(ckpt["scaler"], dict)):
            raise ValueError("its progress (epoch, step, history) is inconsistent")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--resume: {path} does not fit this run: {excerpt(first, 100)}") from None


def check_resume(run_dir: Path, config: TrainMnistConfig) -> int:
    """Before a run is reopened: its checkpoint must match its SHA-256, hold plain values only, fit the config,
    and --epochs may not undo finished epochs. Returns the checkpoint's step: metrics.jsonl records past it were
    logged by an epoch the checkpoint does not hold (a kill between the two), and the runner drops them."""
    from nnlab.core.errors import UserError

    ckpt = load_checkpoint(run_dir / CHECKPOINT)
    check_states(config, ckpt, run_dir / CHECKPOINT)
    done = ckpt["state"]["epoch"]
    if config.epochs < done:
        raise UserError(f"--resume: {run_dir} has finished {done} epochs; --epochs {config.epochs} would undo them")
    return ckpt["state"]["step"]

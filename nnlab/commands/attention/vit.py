"""The vit task: a small vision Transformer on the real MNIST (lecture: 自注意力机制 -> 图像处理).

Each 28 x 28 digit is cut into (28/p)^2 patches of p x p pixels (16 of 7 x 7 by default), each patch a
token; a [CLS] token reads the class. The last `val_samples` training images are held out as a validation
set (the only numbers used while training); the 10,000 test images are scored once, at the end.
"""

from __future__ import annotations

import math
import time
from typing import Any

from nnlab.commands.attention.retrieve import lr_at


def to_tensors(images, labels, device: str):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28) normalized with MNIST's mean and std, labels int64."""
    import torch

    from nnlab.data.mnist import MEAN, STD

    x = torch.from_numpy(images).to(device).float().div_(255).sub_(MEAN).div_(STD)
    return x, torch.from_numpy(labels).to(device).long()


def accuracy(model, x, y, batch: int = 2000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode."""
    import torch
    import torch.nn.functional as F

    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits, _ = model(x[i:i + batch])
            loss += float(F.cross_entropy(logits, y[i:i + batch], reduction="sum"))
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
    model.train()
    return loss / len(x), correct / len(x)


def stream_name(name: str, index: int) -> tuple:
    """The streams of model `index`: model 0 keeps the names runs before seeds had ("vit-init"), so it is the
    same model; model i > 0 adds its index."""
    return (name,) if index == 0 else (name, index)


def train(config: Any, rec: Any, index: int = 0) -> dict[str, Any]:
    """Train the ViT of seed index `index` (its own initialization and shuffling), score it once on the test set."""
    import torch
    import torch.nn.functional as F

    from nnlab.core.seeding import stream_seed, torch_stream
    from nnlab.data.mnist import run_mnist
    from nnlab.nn.param_rules import lecture_adam
    from nnlab.nn.transformer import VisionTransformer

    device = rec.device
    data = run_mnist(config.data_dir)
    n_train = config.train_samples or 60000 - config.val_samples
    x_all, y_all = to_tensors(data.train_images, data.train_labels, device)
    x_val, y_val = x_all[60000 - config.val_samples:], y_all[60000 - config.val_samples:]
    x_train, y_train = x_all[:n_train], y_all[:n_train]
    n_test = config.test_samples or 10000
    x_test, y_test = to_tensors(data.test_images[:n_test], data.test_labels[:n_test], device)

    torch.manual_seed(stream_seed(config.seed, *stream_name("vit-init", index)))
    model = VisionTransformer(config.patch, config.dim, config.heads, config.layers, config.norm).to(device)
    opt = lecture_adam(model.parameters(), lr=config.lr, weight_decay=0.05, decoupled=True)  # AdamW
    shuffle = torch_stream(config.seed, *stream_name("vit-shuffle", index))  # on CPU: the same batches on every device
    bs = config.batch_size
    per_epoch = math.ceil(n_train / bs)
    total = per_epoch * config.epochs
    step, t0, diverged, history = 0, time.perf_counter(), None, []
    for epoch in range(1, config.epochs + 1):
        perm = torch.randperm(n_train, generator=shuffle).to(device)
        for i in rec.track(range(per_epoch), f"vit {index + 1}/{config.seeds} epoch {epoch}/{config.epochs}"):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, total, config.lr)
            idx = perm[i * bs:(i + 1) * bs]
            logits, _ = model(x_train[idx])
            loss = F.cross_entropy(logits, y_train[idx])
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                diverged = step
                rec.log({"step": step, "task": "vit", "seed_index": index, "epoch": epoch, "train/loss": value})
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % config.log_every == 0:
                rec.log({"step": step, "task": "vit", "seed_index": index, "epoch": epoch, "train/loss": value,
                         "train/acc": float((logits.argmax(1) == y_train[idx]).float().mean())})
        if diverged is not None:
            break
        val_loss, val_acc = accuracy(model, x_val, y_val)
        record = {"step": step, "task": "vit", "seed_index": index, "epoch": epoch, "val/loss": val_loss,
                  "val/acc": val_acc,
                  "time/train_s": time.perf_counter() - t0}
        rec.log(record)
        history.append(record)
    train_s = time.perf_counter() - t0
    test_loss, test_acc = accuracy(model, x_test, y_test) if diverged is None else (float("nan"), float("nan"))

    # attention of the first few test digits: [example][layer][head][i][j], token 0 is [CLS]
    model.eval()
    with torch.no_grad():
        _, weights = model(x_test[: config.examples])
    return {
        "test/acc": test_acc, "test/loss": test_loss, "val/acc": history[-1]["val/acc"] if history else None,
        "epochs": len(history), "steps": step, "train_samples": n_train, "val_samples": config.val_samples,
        "test_samples": n_test, "train_s": train_s, "diverged_at": diverged, "history": history,
        "params": sum(p.numel() for p in model.parameters()),
        "maps": {
            "weights": [[a[b].tolist() for a in weights] for b in range(min(config.examples, n_test))],
            "pixels_hex": [data.test_images[b].tobytes().hex() for b in range(min(config.examples, n_test))],
            "labels": data.test_labels[: config.examples].tolist(),
        },
        "positional_encoding": model.pos.cpu().tolist(),
    }

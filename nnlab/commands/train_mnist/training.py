"""The training of `nnlab train-mnist`, one piece a function: the data on the device, evaluation, the Trainer
(model, optimizer, progress), restore from / save to a checkpoint (the files: checkpoints.py), one epoch, the
final evaluation. run.py puts them together.

Decisions (stopping at --target-acc) look at the validation split only; the test set is evaluated once, by
final_evaluation(), after the last epoch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnlab.commands.train_mnist.checkpoints import check_states, load_checkpoint, save_checkpoint
from nnlab.commands.train_mnist.config import TrainMnistConfig
from nnlab.commands.train_mnist.model import amp_dtype, build_model, lr_at, make_optimizer

if TYPE_CHECKING:
    from nnlab.core.run import Run


def to_device(images, labels, device: str):
    """uint8 (N, 28, 28) -> normalized float32 (N, 1, 28, 28) on `device`; labels int64."""
    import numpy as np
    import torch

    from nnlab.data.mnist import MEAN, STD

    images, labels = np.ascontiguousarray(images), np.ascontiguousarray(labels)
    x = torch.from_numpy(images).to(device).unsqueeze(1).float().div_(255).sub_(MEAN).div_(STD)
    return x, torch.from_numpy(labels).to(device).long()


def evaluate(model, x, y, dtype, memory_format, batch: int = 256):
    """Mean cross-entropy, accuracy, the predictions and the softmax confidence of each, in eval mode. Chunks of
    256 stay in cache: the default CNN on the 10,000 test images, 0.8-0.95 s of one core against 1.9-2.2 at 2,000."""
    import torch
    import torch.nn.functional as F

    model.eval()
    forward = inference_forward(model, x.device.type, dtype)
    loss, preds, confs = 0.0, [], []
    with torch.inference_mode(), torch.autocast(x.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        for i in range(0, len(x), batch):
            logits = forward(x[i:i + batch].contiguous(memory_format=memory_format)).float()
            loss += float(F.cross_entropy(logits, y[i:i + batch], reduction="sum"))
            p = logits.softmax(1)
            conf, pred = p.max(1)
            preds.append(pred)
            confs.append(conf)
    pred, conf = torch.cat(preds), torch.cat(confs)
    model.train()
    return loss / len(x), float((pred == y).double().mean()), pred, conf


ONEDNN_LAYERS = ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d")  # what inference_forward runs in oneDNN's layout


def inference_forward(model, device: str, dtype):
    """What evaluate() calls on each chunk: the model itself, or on the CPU in float32, for a CNN whose
    convolution blocks are all ONEDNN_LAYERS, those blocks on oneDNN (mkldnn) tensors, its own blocked layout
    (max-pooling without an int64 index tensor, no layout changes between layers), and the head as it is.
    The same function: logits agree with the model's to float32 rounding (tests/test_train_mnist.py); 0.31-0.38 s
    against 0.51-0.74 s for the default CNN on 15,000 images here. Converting takes ~2 ms."""
    import torch
    import torch.nn.functional as F

    names = [type(m).__name__ for m in model]
    cut = names.index("Flatten") if "Flatten" in names else 0
    if device != "cpu" or dtype is not None or cut == 0 or not torch.backends.mkldnn.is_available() \
            or any(name not in ONEDNN_LAYERS for name in names[:cut]):
        return model
    steps = []
    for layer in model[:cut]:
        kind = type(layer).__name__
        if kind == "Conv2d":
            weight, bias = layer.weight.detach().contiguous().to_mkldnn(), layer.bias
            steps.append(lambda x, c=layer, w=weight, b=bias: torch.mkldnn_convolution(
                x, w, None if b is None else b.detach(), c.padding, c.stride, c.dilation, c.groups))
        elif kind == "BatchNorm2d":  # eval mode: the running statistics
            stats = [t.detach().to_mkldnn() for t in (layer.weight, layer.bias, layer.running_mean, layer.running_var)]
            steps.append(lambda x, bn=layer, s=stats: torch.batch_norm(x, *s, False, 0.0, bn.eps, False))
        elif kind == "ReLU":
            steps.append(torch.relu)
        else:
            steps.append(lambda x, p=layer: F.max_pool2d(x, p.kernel_size, p.stride, p.padding, p.dilation,
                                                         p.ceil_mode))
    head = model[cut:]

    def forward(chunk):
        x = chunk.contiguous().to_mkldnn()
        for step in steps:
            x = step(x)
        return head(x.to_dense())

    # mkldnn tensors are an expert corner of torch: a build or CPU where they fail or disagree gets the model
    probe = torch.linspace(-1, 2, 2 * 28 * 28).reshape(2, 1, 28, 28)
    try:
        with torch.inference_mode():
            agrees = torch.allclose(forward(probe), model(probe), rtol=1e-4, atol=1e-5)
    except (RuntimeError, TypeError, AttributeError):
        agrees = False
    return forward if agrees else model


# ----------------------------------------------------------------------------------------------------
# Training


@dataclass
class Trainer:
    """What the epochs share: the data on the device, the model, its optimizer, and the progress so far."""

    config: TrainMnistConfig
    device: str
    x_train: Any               # (N, 1, 28, 28) float32, normalized; y_train (N,) int64
    y_train: Any
    x_val: Any                 # the validation split (the end of the training file): decisions look here only
    y_val: Any
    x_test: Any                # the test set: evaluated once, by final_evaluation()
    y_test: Any
    model: Any
    optimizer: Any
    scaler: Any                # the fp16 loss scaler (a no-op unless fp16 autocast on CUDA)
    shuffle: Any               # torch.Generator (CPU) of the epochs' permutations
    dtype: Any                 # the autocast dtype, None for float32
    memory_format: Any
    history: list[dict[str, Any]] = field(default_factory=list)  # one record per finished epoch
    label: str = ""  # before every progress line: which model this is ("baseline (dropout 0): ")
    state: dict[str, Any] = field(default_factory=lambda: {
        "epoch": 0, "step": 0, "train_s": 0.0, "time_to_target_s": None, "diverged": None})

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.config.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    def finished(self) -> bool:
        s, target = self.state, self.config.target_acc
        stops = self.config.stop_at_target and s["time_to_target_s"] is not None and target is not None
        return s["epoch"] >= self.config.epochs or s["diverged"] is not None or stops


def build_trainer(config: TrainMnistConfig, device: str, x_train, y_train, x_val, y_val, x_test, y_test) -> Trainer:
    import torch

    from nnlab.core.seeding import torch_stream

    model = build_model(config).to(device)  # its initial weights: the global torch RNG, seeded by the run's seed
    torch.backends.cudnn.benchmark = device == "cuda"  # fixed shapes: let cuDNN pick its fastest convolution once
    # channels_last (NHWC) suits convolutions on CUDA tensor cores and oneDNN's CPU kernels alike
    memory_format = torch.channels_last if config.model == "cnn" else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    dtype = amp_dtype(config, device)
    return Trainer(config, device, x_train, y_train, x_val, y_val, x_test, y_test, model,
                   make_optimizer(config, model.parameters()),
                   torch.amp.GradScaler("cuda", enabled=dtype == torch.float16),
                   torch_stream(config.seed, "shuffle"),  # on CPU: the permutations are the same on every device
                   dtype, memory_format)


def restore(t: Trainer, path: Path) -> None:
    """Continue where the checkpoint of the last finished epoch left off: weights, optimizer, RNGs, progress."""
    import torch

    from nnlab.core.console import note

    ckpt = load_checkpoint(path)
    check_states(t.config, ckpt, path)
    t.model.load_state_dict(ckpt["model"])
    t.optimizer.load_state_dict(ckpt["optimizer"])
    t.scaler.load_state_dict(ckpt["scaler"])
    t.shuffle.set_state(ckpt["shuffle"])
    torch.set_rng_state(ckpt["torch_rng"])  # dropout draws from the global generator
    if t.device == "cuda" and ckpt.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ckpt["cuda_rng"])
    t.history, t.state = ckpt["history"], ckpt["state"]
    note(f"resumed after epoch {t.state['epoch']} (step {t.state['step']})")


def save(t: Trainer, path: Path) -> None:
    import torch

    save_checkpoint(path, {
        "model": t.model.state_dict(), "optimizer": t.optimizer.state_dict(), "scaler": t.scaler.state_dict(),
        "shuffle": t.shuffle.get_state(), "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state() if t.device == "cuda" else None,
        "history": t.history, "state": t.state, "config": dict(vars(t.config)),
    })


def train_epoch(t: Trainer, rec: Run) -> dict[str, Any] | None:
    """One pass over the training set, then a validation evaluation; logs and returns the epoch's record
    (None if the loss turned NaN/inf: t.state["diverged"] then says where)."""
    import torch
    import torch.nn.functional as F

    from nnlab.core.console import note

    config, state, device, bs = t.config, t.state, t.device, t.config.batch_size
    check_every = 1 if device != "cuda" else 25  # a finite-loss check syncs the GPU: not every step there
    epoch = state["epoch"] + 1
    n = len(t.x_train)
    t_epoch, cpu_epoch = time.perf_counter(), time.process_time()
    perm = torch.randperm(n, generator=t.shuffle).to(device)
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    pending: list[dict[str, Any]] = []  # step records, logged with the epoch so a resume never repeats them
    for i in rec.track(range(t.steps_per_epoch), f"{t.label}epoch {epoch}/{config.epochs}"):
        step = state["step"] + 1
        lr = lr_at(config, step - 1, t.total_steps)
        for group in t.optimizer.param_groups:
            group["lr"] = lr
        idx = perm[i * bs:(i + 1) * bs]
        xb, yb = t.x_train[idx].contiguous(memory_format=t.memory_format), t.y_train[idx]
        with torch.autocast(device, dtype=t.dtype or torch.float32, enabled=t.dtype is not None):
            logits = t.model(xb)
            loss = F.cross_entropy(logits.float(), yb, label_smoothing=config.label_smoothing)
        if step % check_every == 0 or step == t.total_steps:
            value = float(loss.detach())
            if not math.isfinite(value):
                state["diverged"] = {"step": step, "epoch": epoch, "loss": value}
                rec.log({"step": step, "epoch": epoch, "train/loss_step": value})
                return None
        t.optimizer.zero_grad(set_to_none=True)
        t.scaler.scale(loss).backward()
        t.scaler.step(t.optimizer)
        t.scaler.update()
        state["step"] = step
        with torch.no_grad():
            loss_sum += loss.detach().double() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
        if step % config.log_every == 0:
            batch_acc = float((logits.argmax(1) == yb).float().mean())
            pending.append({"step": step, "epoch": epoch, "train/loss_step": float(loss.detach()),
                            "train/acc_step": batch_acc, "lr": lr})
    if device == "cuda":
        torch.cuda.synchronize()  # queued kernels belong to this epoch's training time
    train_s, train_cpu_s = time.perf_counter() - t_epoch, time.process_time() - cpu_epoch  # CPU: all threads
    state["train_s"] += train_s
    record = {"step": state["step"], "epoch": epoch, "train/loss": float(loss_sum) / n, "train/acc": int(correct) / n}
    line = ""
    if len(t.x_val):
        val_loss, val_acc, _, _ = evaluate(t.model, t.x_val, t.y_val, t.dtype, t.memory_format)
        record |= {"val/loss": val_loss, "val/acc": val_acc}
        line = f" · val loss {val_loss:.4f} acc {val_acc:.4f}"
        # the only decision of the run, taken on the validation split (validate() requires one for a target)
        if config.target_acc is not None and val_acc >= config.target_acc and state["time_to_target_s"] is None:
            state["time_to_target_s"] = state["train_s"]
            line += f" · reached --target-acc {config.target_acc} after {state['train_s']:.1f} s of training"
    record |= {"time/train_s": train_s, "time/train_cpu_s": train_cpu_s, "time/epoch_s": time.perf_counter() - t_epoch,
               "time/total_train_s": state["train_s"]}
    t.history.append(record)
    state["epoch"] = epoch
    for r in pending:
        rec.log(r)
    rec.log(record)
    note(f"{t.label}epoch {epoch}: train loss {record['train/loss']:.4f} acc {record['train/acc']:.4f}{line} · "
              f"{train_s:.1f} s")
    return record


def final_evaluation(t: Trainer, test_images) -> dict[str, Any]:
    """Test loss and accuracy, the confusion matrix and the most confident mistakes (test_images: uint8).
    The run's one look at the test set: called once, after training, and nothing is decided from it."""
    import numpy as np

    test_loss, test_acc, pred, conf = evaluate(t.model, t.x_test, t.y_test, t.dtype, t.memory_format)
    y_np, p_np, c_np = t.y_test.cpu().numpy(), pred.cpu().numpy(), conf.float().cpu().numpy()
    confusion = np.zeros((10, 10), dtype=np.int64)  # [true, predicted]
    np.add.at(confusion, (y_np, p_np), 1)
    wrong = np.flatnonzero(p_np != y_np)
    wrong = wrong[np.argsort(-c_np[wrong], kind="stable")][: t.config.misclassified]  # most confident first
    images = test_images[: len(y_np)]
    misclassified = [{"index": int(i), "true": int(y_np[i]), "pred": int(p_np[i]), "confidence": float(c_np[i]),
                      "pixels_hex": images[i].tobytes().hex()} for i in wrong]
    return {"test/acc": test_acc, "test/loss": test_loss, "test_samples": len(y_np), "confusion": confusion.tolist(),
            "misclassified": misclassified, "errors": int((p_np != y_np).sum())}

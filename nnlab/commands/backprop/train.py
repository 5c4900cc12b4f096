"""`nnlab backprop`, part 3: an MLP trained on MNIST with the engine and with torch, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.backprop.chain import rel_diff
from nnlab.commands.backprop.config import CLASSES
from nnlab.core.claims import check, claim

if TYPE_CHECKING:
    from nnlab.commands.backprop.config import BackpropConfig
    from nnlab.core.run import Run

TRAIN_RTOL = 1e-10  # same weights, batches and float64 arithmetic: the loss curves differ by rounding only
TRAIN_ACCURACY = 0.8


def prepare(config: BackpropConfig) -> None:
    """MNIST is checked (or downloaded) before a run directory exists, when part 3 is on."""
    if config.train:
        from nnlab.data.mnist import prepare_mnist

        prepare_mnist(config.data_dir)


def train_mnist(config: BackpropConfig, rec: Run) -> dict[str, Any]:
    import numpy as np

    from nnlab.core.seeding import stream
    from nnlab.data.mnist import run_mnist
    from nnlab.nn.backprop_cost import init_weights
    from nnlab.nn.engine_training import train_both, train_engine

    data = run_mnist(config.data_dir)

    def inputs(images: np.ndarray) -> np.ndarray:  # (n, 784) float64, MNIST's usual standardisation
        return ((images.reshape(len(images), -1) / 255.0 - 0.1307) / 0.3081).astype(np.float64)

    n = config.train_samples
    x, y = inputs(data.train_images[:n]), data.train_labels[:n].astype(np.int64)
    x_test = inputs(data.test_images[: config.test_samples])
    y_test = data.test_labels[: config.test_samples].astype(np.int64)
    def draw(index: int):
        """Batches and weights of MLP `index`: the first keeps the stream names runs before seeds had."""
        keys = () if index == 0 else (index,)
        order = stream(config.seed, "train-batches", *keys)
        batches: list[np.ndarray] = []
        while len(batches) < config.train_steps:  # epochs of permutations, sliced into full batches
            perm = order.permutation(n)
            batches += [perm[i:i + config.train_batch]
                        for i in range(0, n - config.train_batch + 1, config.train_batch)]
        return batches[: config.train_steps], init_weights(stream(config.seed, "train-weights", *keys),
                                                           [784, config.train_hidden, CLASSES])

    def log(step: int, le: float, lt: float) -> None:
        rec.log({"step": step, "section": "train", "loss_engine": le, "loss_torch": lt})
        rec.check_stop()

    batches, weights = draw(0)
    with np.errstate(all="ignore"):
        result = train_both(weights, x, y, batches, "tanh", config.train_lr, x_test, y_test, on_step=log)
        others = []
        for i in rec.track(range(1, config.train_seeds), "further engine seeds"):
            more_batches, more_weights = draw(i)
            others.append(train_engine(more_weights, x, y, more_batches, "tanh", config.train_lr, x_test, y_test))
    le, lt = result["loss_engine"], result["loss_torch"]
    k = config.compare_steps
    return {
        "samples": n, "hidden": config.train_hidden, "steps": config.train_steps, "batch": config.train_batch,
        "lr": config.train_lr, "compare_steps": k,
        "first_loss": le[0], "last_loss": le[-1],
        "max_rel_diff_first_steps": max(rel_diff(a, b) for a, b in zip(le[:k], lt[:k], strict=True)),
        "max_rel_diff_all_steps": max(rel_diff(a, b) for a, b in zip(le, lt, strict=True)),
        "test_accuracy_engine": result["test_accuracy_engine"], "test_accuracy_torch": result["test_accuracy_torch"],
        "test_accuracy_engine_seeds": [result["test_accuracy_engine"]] + [o["test_accuracy_engine"] for o in others],
        "finite": bool(np.all(np.isfinite(le)) and np.all(np.isfinite(lt))
                       and all(np.all(np.isfinite(o["loss_engine"])) for o in others)),
    }


def train_claims(train: dict[str, Any]) -> list[dict[str, Any]]:
    d = train["max_rel_diff_first_steps"]
    return [
        # Same weights, same batches, same float64 arithmetic up to rounding: only a bug separates them.
        check("backprop.train-matches-torch", f"the engine's and torch's loss curves agree over the first "
              f"{train['compare_steps']} SGD steps on MNIST", d, f"<= {TRAIN_RTOL:g} relative",
              d <= TRAIN_RTOL,
              zh=f"在 MNIST 上的前 {train['compare_steps']} 步 SGD 中，引擎与 torch 的损失曲线一致"),
        engine_trains(train),
    ]


def engine_trains(train: dict[str, Any]) -> dict[str, Any]:
    """Mean test accuracy over the seeds minus 2 standard errors reaches TRAIN_ACCURACY (chance is 0.1).
    Flipped by a learning rate too small (--train-lr 1e-5) or too few steps (--train-steps 1)."""
    import numpy as np

    accs = np.asarray(train["test_accuracy_engine_seeds"], dtype=float)
    mean = float(accs.mean())
    sem = float(accs.std(ddof=1) / np.sqrt(len(accs))) if len(accs) > 1 else 0.0
    return claim("backprop.engine-trains",
                 f"the engine's gradients train a 784-{train['hidden']}-10 MLP by SGD on MNIST: test accuracy after "
                 f"{train['steps']} steps, {len(accs)} seeds (weights and batch order)",
                 {"accuracy_seeds": [round(float(a), 4) for a in accs], "mean": round(mean, 4), "sem": round(sem, 4),
                  "first_loss": round(train["first_loss"], 4), "last_loss": round(train["last_loss"], 4)},
                 f"mean - 2 sem >= {TRAIN_ACCURACY} (chance 0.1)", mean - 2 * sem >= TRAIN_ACCURACY, source="nnlab",
                 why=f"test accuracy {mean:.3g} +- {2 * sem:.2g} after {train['steps']} steps: the loss went from "
                     f"{train['first_loss']:.3g} to {train['last_loss']:.3g}, not far enough",
                 tip="--train-lr 0.1 --train-steps 120",
                 zh=f"引擎算出的梯度能用 SGD 在 MNIST 上训练一个 784-{train['hidden']}-10 的 MLP："
                    f"{train['steps']} 步后的测试准确率，共 {len(accs)} 个种子（权重与批次顺序）",
                 why_zh=f"{train['steps']} 步后测试准确率为 {mean:.3g} ± {2 * sem:.2g}：损失从 "
                        f"{train['first_loss']:.3g} 降到 {train['last_loss']:.3g}，下降得不够")

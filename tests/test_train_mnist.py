"""nnlab train-mnist: models, schedule, the quick run, dropout, divergence, checkpoints and resume."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
import yaml

from nnlab.core import mnist
from nnlab.core.config import Layer, load_recipe, resolve
from nnlab.core.run import Interrupted
from nnlab.experiments import train_mnist
from nnlab.experiments.train_mnist import TrainMnistConfig, lr_at, training

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SMALL = ["--train-samples", "1200", "--test-samples", "500", "--batch-size", "100", "--lr", "0.05",
         "--threads", "1", "--misclassified", "4"]


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    """One decoded-MNIST cache for the module, in a temporary folder; never the internet."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(mnist.CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        mp.delenv(mnist.DATA_ENV, raising=False)
        mp.setenv(mnist.MIRRORS_ENV, "")
        yield


def read(run_dir: Path, name: str):
    text = (run_dir / name).read_text()
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def numbers(summary: dict) -> dict:
    """The summary without wall-clock times (which differ between any two runs)."""
    out = {k: v for k, v in summary.items() if "time" not in k}
    out["history"] = [{k: v for k, v in h.items() if not k.startswith("time/")} for h in summary["history"]]
    return out


# ----------------------------------------------------------------------------------------------------
# Pieces


def test_onecycle_schedule_closed_form():
    cfg = TrainMnistConfig(lr=0.2, warmup=0.25, schedule="onecycle")
    total = 201  # t = step / 200
    assert lr_at(cfg, 0, total) == pytest.approx(0.2 / 25, rel=1e-12)
    assert lr_at(cfg, 25, total) == pytest.approx(0.2 / 25 + (0.2 - 0.2 / 25) * 0.5, rel=1e-12)  # half-way up
    assert lr_at(cfg, 50, total) == pytest.approx(0.2, rel=1e-12)  # t = warmup: the peak
    assert lr_at(cfg, 125, total) == pytest.approx((0.2 + 0.2 / 1e4) / 2, rel=1e-12)  # half-way down the cosine
    assert lr_at(cfg, 200, total) == pytest.approx(0.2 / 1e4, rel=1e-12)
    assert lr_at(TrainMnistConfig(lr=0.3, schedule="constant"), 50, total) == 0.3


def test_optimizer_names_map_onto_torch_optim():
    p = [torch.nn.Parameter(torch.zeros(2))]
    made = {name: train_mnist.make_optimizer(TrainMnistConfig(optimizer=name), p) for name in train_mnist.OPTIMIZERS}
    assert made["nesterov"].defaults["nesterov"] and not made["momentum"].defaults["nesterov"]
    assert made["momentum"].defaults["momentum"] == 0.9 and made["sgd"].defaults["momentum"] == 0
    assert isinstance(made["adam"], torch.optim.Adam) and isinstance(made["rmsprop"], torch.optim.RMSprop)
    assert isinstance(made["adagrad"], torch.optim.Adagrad)


@pytest.mark.parametrize("path", sorted(RECIPES.glob("train-mnist*.yaml")), ids=lambda p: p.name)
def test_recipes_load(path):
    values = {k: v for k, v in load_recipe(path, "train-mnist").items() if k != "command"}
    config = resolve(TrainMnistConfig, [Layer(str(path), values)])
    assert {k: getattr(config, k) for k in values} == values  # every key of the recipe reaches the config


def test_three_recipes_exist():
    names = {p.name for p in RECIPES.glob("train-mnist*.yaml")}
    assert {"train-mnist.yaml", "train-mnist-mlp.yaml", "train-mnist-dropout.yaml"} <= names


# ----------------------------------------------------------------------------------------------------
# The command


@pytest.mark.slow
def test_quick_run_writes_everything(invoke):
    result = invoke("train-mnist", "--quick")
    assert result.exit_code == 0, result.output + result.stderr
    (run_dir,) = result.runs("train-mnist")
    summary = read(run_dir, "summary.json")
    for key in ("test/acc", "test/loss", "epochs", "time_to_target_s", "params", "device"):
        assert key in summary
    assert summary["status"] == "completed" and summary["epochs"] == 1 and summary["device"] == "cpu"
    assert 0.5 < summary["test/acc"] <= 1.0  # 2000 samples, one short epoch: well above chance (0.1)
    assert summary["time_to_target_s"] is None and summary["target_acc"] == 0.99  # not reached by a smoke run
    cm = summary["confusion"]
    assert sum(map(sum, cm)) == 1000 and sum(cm[i][i] for i in range(10)) / 1000 == pytest.approx(summary["test/acc"])
    assert len(summary["misclassified"]) == min(16, summary["errors"])
    assert {p.name for p in (run_dir / "plots").glob("*.png")} == {
        "learning_curves.png", "confusion_matrix.png", "misclassified.png"}
    assert (run_dir / train_mnist.CHECKPOINT).is_file()
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("test/acc" in m for m in metrics)


def test_dropout_run_shows_its_setting(invoke):
    result = invoke("train-mnist", "--quick", "--dropout", "0.5", "--model", "mlp", "--hidden", "64")
    assert result.exit_code == 0, result.output + result.stderr
    (run_dir,) = result.runs("train-mnist")
    assert read(run_dir, "config.yaml")["dropout"] == 0.5
    summary = read(run_dir, "summary.json")
    assert summary["dropout"] == 0.5 and summary["keep_probability"] == 0.5
    help_text = invoke("train-mnist", "--help").output
    assert "1 - P" in help_text and "--resume" in help_text


def test_target_accuracy_stops_and_times(invoke):
    result = invoke("train-mnist", *SMALL, "--epochs", "3", "--target-acc", "0.2")
    assert result.exit_code == 0, result.output + result.stderr
    summary = result.summary("train-mnist")
    assert summary["epochs"] == 1 and summary["time_to_target_s"] > 0 and summary["test/acc"] >= 0.2


def test_divergence_is_a_result(invoke):
    result = invoke("train-mnist", *SMALL, "--model", "mlp", "--optimizer", "sgd", "--lr", "1e6")
    assert result.exit_code == 0, result.output + result.stderr
    summary = result.summary("train-mnist")
    assert summary["status"] == "diverged" and summary["steps"] == summary["diverged_at_step"] - 1
    assert sum("diverged" in line for line in result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--kernel-size", "4"], "kernel_size: must be odd"),
    (["--optimizer", "adamw"], "--optimizer"),
    (["--dropout", "1.5"], "--dropout"),
    (["--resume", "/nonexistent/run"], "--resume"),
])
def test_bad_input_is_one_line(invoke, args, message):
    result = invoke("train-mnist", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not result.runs("train-mnist")


def test_missing_data_offline_is_a_clear_error(invoke, tmp_path):
    result = invoke("train-mnist", "--quick", "--data-dir", str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert "train-images-idx3-ubyte.gz" in result.stderr and "no download mirror" in result.stderr
    assert not result.runs("train-mnist")  # checked before the run directory is created


@pytest.mark.slow
def test_resume_gives_the_uninterrupted_numbers(invoke, tmp_path, monkeypatch):
    args = ["train-mnist", *SMALL, "--epochs", "2", "--dropout", "0.25", "--seed", "3"]
    straight = invoke(*args, out=tmp_path / "a")
    assert straight.exit_code == 0, straight.stderr

    real_save = training.save_checkpoint

    def save_then_stop(path, state):  # Ctrl-C arriving during epoch 1's checkpoint: stop at the next safe point
        real_save(path, state)
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(training, "save_checkpoint", save_then_stop)
    stopped = invoke(*args, out=tmp_path / "b")
    assert stopped.exit_code == 130
    (run_dir,) = stopped.runs("train-mnist")
    assert read(run_dir, "meta.json")["status"] == "interrupted"
    assert read(run_dir, "summary.json")["status"] == "interrupted"
    monkeypatch.setattr(training, "save_checkpoint", real_save)

    changed = invoke("train-mnist", "--resume", str(run_dir), "--lr", "0.5", out=tmp_path / "b")
    assert changed.exit_code == 2 and "lr: 0.05 -> 0.5" in changed.stderr

    resumed = invoke("train-mnist", "--resume", str(run_dir), out=tmp_path / "b")
    assert resumed.exit_code == 0, resumed.stderr
    assert stopped.runs("train-mnist") == [run_dir]  # continued in place, no new directory
    meta = read(run_dir, "meta.json")
    assert meta["status"] == "completed" and len(meta["resumed"]) == 1
    a, b = straight.summary("train-mnist"), read(run_dir, "summary.json")
    assert b["epochs"] == 2
    assert numbers(a) == numbers(b)  # exact: same floats, same confusion matrix, same mistakes
    epochs_logged = [m["epoch"] for m in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
                     if "test/acc" in m]
    assert epochs_logged == [1, 2]


@pytest.mark.slow
def test_sigterm_leaves_an_interrupted_run_with_a_checkpoint(tmp_path):
    """A real process and a real signal: SIGTERM stops at the next safe point, exit 143, status interrupted."""
    import os
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    argv = [sys.executable, "-m", "nnlab", "train-mnist", "--train-samples", "500", "--test-samples", "200",
            "--batch-size", "100", "--lr", "0.05", "--threads", "1", "--epochs", "1000", "--target-acc", "null",
            "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("train-mnist/*/checkpoints/last.pt")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    (run_dir,) = [p for p in (out / "train-mnist").iterdir() if not p.is_symlink()]
    assert read(run_dir, "meta.json")["status"] == "interrupted"
    assert (run_dir / train_mnist.CHECKPOINT).is_file()


def test_a_refused_resume_leaves_the_run_as_it_was(invoke, tmp_path):
    first = invoke("train-mnist", *SMALL, "--epochs", "2", "--target-acc", "null", out=tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    (run,) = first.runs("train-mnist")
    before = (run / "meta.json").read_text(), (run / "config.yaml").read_text()

    fewer = invoke("train-mnist", "--resume", str(run), "--epochs", "1", out=tmp_path / "a")
    assert fewer.exit_code == 2 and "has finished 2 epochs" in fewer.stderr
    (run / train_mnist.CHECKPOINT).unlink()
    lost = invoke("train-mnist", "--resume", str(run), "--epochs", "3", out=tmp_path / "a")
    assert lost.exit_code == 2 and "no checkpoint" in lost.stderr
    assert ((run / "meta.json").read_text(), (run / "config.yaml").read_text()) == before


@pytest.mark.slow
def test_more_epochs_on_resume_are_recorded_in_meta(invoke, tmp_path):
    first = invoke("train-mnist", *SMALL, "--epochs", "1", "--target-acc", "null", out=tmp_path / "a")
    (run,) = first.runs("train-mnist")
    more = invoke("train-mnist", "--resume", str(run), "--epochs", "2", out=tmp_path / "a")
    assert more.exit_code == 0, more.stderr
    meta = json.loads((run / "meta.json").read_text())
    assert meta["resumed"][-1]["changed"] == {"epochs": [1, 2]}
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2

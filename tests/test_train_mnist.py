"""nnlab train-mnist: models, schedule, the quick run, dropout, divergence, the validation split (no test-set
peeking), bounds and memory, verified checkpoints and resume, and a flip for every claim."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import signal
import typing
from pathlib import Path

import pytest
import torch
import yaml
from conftest import HUNG_S, claim_by_id, refused

from nnlab.commands.train_mnist import checkpoints, results, training
from nnlab.commands.train_mnist.checkpoints import CHECKPOINT
from nnlab.commands.train_mnist.claims import accuracy_claims
from nnlab.commands.train_mnist.config import OPTIMIZERS, TrainMnistConfig, memory_bytes, param_count, split_sizes
from nnlab.commands.train_mnist.model import build_model, lr_at, make_optimizer
from nnlab.core.config import Layer, field_types, load_recipe, resolve
from nnlab.core.run import Interrupted
from nnlab.data import mnist

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
SMALL = ["--train-samples", "1200", "--val-samples", "500", "--test-samples", "500", "--batch-size", "100",
         "--lr", "0.05", "--threads", "1", "--misclassified", "4"]
TINY = ["--train-samples", "300", "--val-samples", "100", "--test-samples", "100", "--batch-size", "100",
        "--threads", "1", "--misclassified", "2"]  # 3 steps an epoch: for tests where the numbers do not matter
CLAIM_IDS = {"train-mnist.recognises-digits", "train-mnist.accuracy", "train-mnist.dropout-narrows-gap",
             "train-mnist.dropout-keeps-test-error"}


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


def test_optimizer_names_map_onto_the_lectures_rules():
    made = {name: make_optimizer(TrainMnistConfig(optimizer=name), [torch.nn.Parameter(torch.zeros(2))])
            for name in OPTIMIZERS}
    assert {name: opt.rule for name, opt in made.items()} == {
        "sgd": "sgd", "momentum": "heavy_ball", "nesterov": "nesterov", "adagrad": "adagrad", "rmsprop": "rmsprop",
        "adam": "adam"}
    assert made["momentum"].hyper["beta"] == 0.9 and made["nesterov"].hyper["beta"] == 0.9
    assert made["adam"].hyper["beta1"] == 0.9 and made["rmsprop"].hyper["beta"] == 0.9
    assert all(opt.weight_decay == 5e-4 and not opt.decoupled for opt in made.values())  # L2 on the gradient


@pytest.mark.parametrize("path", sorted(RECIPES.glob("train-mnist*.yaml")), ids=lambda p: p.name)
def test_recipes_load(path):
    values = {k: v for k, v in load_recipe(path, "train-mnist").items() if k != "command"}
    config = resolve(TrainMnistConfig, [Layer(str(path), values)])
    assert {k: getattr(config, k) for k in values} == values  # every key of the recipe reaches the config


def test_three_recipes_exist():
    names = {p.name for p in RECIPES.glob("train-mnist*.yaml")}
    assert {"train-mnist.yaml", "train-mnist-mlp.yaml", "train-mnist-dropout.yaml"} <= names


def test_numbers_are_named_by_what_they_are():
    """numbers(): stable dotted names (what sweep, compare, runs and export read), None where nothing was
    measured, from the summary alone."""
    summary = {"test/acc": 0.991, "test/loss": 0.03, "val/acc": None, "val/loss": None, "train/acc": 0.98,
               "train/loss": 0.06, "errors": 90, "epochs": 1, "steps": 430, "train_time_s": 4.2,
               "time_to_target_s": None, "load_time_s": 0.1, "params": 29178, "dropout": 0.25}
    named = results.numbers(summary)
    assert named["test.acc"] == 0.991 and named["test.errors"] == 90.0 and named["params"] == 29178.0
    assert named["val.acc"] is None and named["time_to_target_s"] is None
    assert set(results.numbers({})) == set(named) and all(v is None for v in results.numbers({}).values())
    assert all(isinstance(v, float) for v in named.values() if v is not None)


# ----------------------------------------------------------------------------------------------------
# The command


@pytest.mark.draws
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
    assert (summary["train_samples"], summary["val_samples"], summary["test_samples"]) == (2000, 1000, 1000)
    # a subset run: the lecture's claim only (measured 93.4%); the 99% expectation is for full runs
    assert [c["id"] for c in summary["claims"]] == ["train-mnist.recognises-digits"]
    digits = claim_by_id(summary, "train-mnist.recognises-digits")
    assert digits["holds"] and digits["source"] == "lecture"
    nnlab_claim = accuracy_claims("cnn", 0.995, 10_000, 55_000)[1]
    assert nnlab_claim["id"] == "train-mnist.accuracy" and nnlab_claim["source"] == "nnlab"
    assert "on 1,000 test images (a subset" in digits["claim"]
    cm = summary["confusion"]
    assert sum(map(sum, cm)) == 1000 and sum(cm[i][i] for i in range(10)) / 1000 == pytest.approx(summary["test/acc"])
    assert len(summary["misclassified"]) == min(16, summary["errors"])
    assert {p.name for p in (run_dir / "plots").glob("*.png")} == {
        "learning_curves.png", "confusion_matrix.png", "misclassified.png"}
    assert (run_dir / CHECKPOINT).is_file()
    named = results.numbers(summary)
    assert named["test.acc"] == summary["test/acc"] and named["params"] == summary["params"]
    assert named["time_to_target_s"] is None  # not reached: missing, not zero
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("val/acc" in m for m in metrics) and not any("test/acc" in m for m in metrics)


def test_dropout_run_shows_its_setting(invoke):
    result = invoke("train-mnist", *TINY, "--dropout", "0.5", "--model", "mlp", "--hidden", "64",
                    "--val-samples", "0", "--target-acc", "null")  # no validation split: nothing to decide on
    assert result.exit_code == 0, result.output + result.stderr
    (run_dir,) = result.runs("train-mnist")
    assert read(run_dir, "config.yaml")["dropout"] == 0.5
    summary = read(run_dir, "summary.json")
    assert summary["dropout"] == 0.5 and summary["keep_probability"] == 0.5
    assert summary["val_samples"] == 0 and summary["val/acc"] is None and "val/acc" not in summary["history"][0]
    help_text = invoke("train-mnist", "--help").output
    assert "1 - P" in help_text and "--resume" in help_text


@pytest.mark.slow  # two short runs: 5-20 s on a busy 2-core machine
def test_target_accuracy_stops_on_validation_and_looks_at_test_once(invoke, monkeypatch):
    """Issue 16: --target-acc judged on the test set stopped on exactly the accuracy it then claimed. Now the
    stop is judged on the validation split (the last images of the training file, never trained on) and the
    test set is evaluated once, after the last epoch."""
    looked = []  # the size of each evaluated set, in order
    real_evaluate = training.evaluate

    def spy(model, x, y, *args, **kwargs):
        looked.append(len(x))
        return real_evaluate(model, x, y, *args, **kwargs)

    monkeypatch.setattr(training, "evaluate", spy)
    result = invoke("train-mnist", *SMALL, "--val-samples", "700", "--epochs", "3", "--target-acc", "0.2",
                    "--stop-at-target")
    assert result.exit_code == 0, result.output + result.stderr
    summary = result.summary("train-mnist")
    assert summary["epochs"] == 1 and summary["time_to_target_s"] > 0 and summary["val/acc"] >= 0.2
    assert summary["stopped_at_target"] is True
    assert "stopped after epoch 1 of 3: the validation accuracy reached --target-acc 0.2" in result.stderr
    assert looked == [700, 500]  # validation after epoch 1, then the test set once
    assert all(not k.startswith("test/") for h in summary["history"] for k in h)

    # Issue 25: without --stop-at-target, --epochs is what runs (the schedule finishes); the time is still recorded
    looked.clear()
    every = invoke("train-mnist", *SMALL, "--val-samples", "700", "--epochs", "2", "--target-acc", "0.2",
                   out=result.out / "c")
    summary = every.summary("train-mnist")
    assert summary["epochs"] == 2 and summary["stopped_at_target"] is False and summary["time_to_target_s"] > 0
    assert "reached --target-acc 0.2 after" in every.stderr and "stopped after" not in every.stderr
    assert looked == [700, 700, 500]

    looked.clear()
    unreachable = invoke("train-mnist", *SMALL, "--epochs", "2", "--target-acc", "1.0", out=result.out / "b")
    assert unreachable.exit_code == 0 and unreachable.summary("train-mnist")["time_to_target_s"] is None
    assert looked == [500, 500, 500] and unreachable.summary("train-mnist")["epochs"] == 2


def test_the_validation_split_is_the_end_of_the_training_file():
    assert split_sizes(TrainMnistConfig()) == (55_000, 5_000, 10_000)
    assert split_sizes(TrainMnistConfig(train_samples=1200, val_samples=500, test_samples=300)) == (
        1200, 500, 300)
    TrainMnistConfig(train_samples=55_000).validate()
    with pytest.raises(Exception, match="overlap the validation split"):
        TrainMnistConfig(train_samples=55_001).validate()


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
    # issue 17: each of these passed validation and then crashed with a run directory made
    (["--model", "mlp", "--hidden", "1e308"], "--hidden: must be <= 65536"),
    (["--threads", "1e308"], "--threads: must be <= 1024"),
    (["--channels", "1e12"], "--channels: must be <= 65536"),
    (["--weight-decay", "1e300"], "--weight-decay: must be <= 10"),
    (["--lr", "1e300"], "--lr: must be <= 1e+06"),
    (["--log-every", "1e300"], "--log-every: must be <="),
    # within the bounds, but no machine here holds it: 65536^2 weights and their optimizer state
    (["--model", "mlp", "--hidden", "65536", "--hidden", "65536"], "GiB of memory"),
    # issue 16: a stop needs a validation split; training images may not overlap it
    (["--val-samples", "0"], "val_samples: 0 leaves nothing to judge --target-acc on"),
    (["--target-acc", "null", "--stop-at-target"], "stop_at_target: there is no target to stop at"),
    (["--train-samples", "58000"], "overlap the validation split"),
])
def test_bad_input_is_one_line(invoke, args, message):
    result = invoke("train-mnist", *args)
    refused(result, message)
    assert not result.runs("train-mnist")


def test_every_numeric_field_has_both_bounds():
    types = field_types(TrainMnistConfig)
    numeric = [f for f in dataclasses.fields(TrainMnistConfig) if {int, float} & set(typing.get_args(types[f.name])
                                                                                    or [types[f.name]])]
    assert {"hidden", "channels", "threads", "weight_decay", "lr", "val_samples"} <= {f.name for f in numeric}
    for f in numeric:
        assert f.metadata["low"] is not None and f.metadata["high"] is not None, f.name


@pytest.mark.parametrize("config", [
    TrainMnistConfig(), TrainMnistConfig(model="mlp"), TrainMnistConfig(model="mlp", hidden=[7, 5, 3]),
    TrainMnistConfig(channels=[4, 6], hidden=[9], kernel_size=5, batch_norm=False),
    TrainMnistConfig(block="conv-bn-act-pool"),
], ids=["cnn", "mlp", "mlp-3", "cnn-nobn", "cnn-textbook-order"])
def test_param_count_in_closed_form_matches_the_built_model(config):
    from nnlab.nn.models import count_params

    assert param_count(config) == count_params(build_model(config))


def test_memory_estimate_covers_data_model_and_activations():
    default = memory_bytes(TrainMnistConfig())
    data = 70_000 * 784 * 4  # the float32 copy alone
    assert 200 * 2**20 + data < default < 2**30  # the default run: well under a GiB
    wide = memory_bytes(TrainMnistConfig(model="mlp", hidden=[4096, 4096]))
    assert wide - memory_bytes(TrainMnistConfig(model="mlp", hidden=[1, 1])) > 4 * 4096**2 * 4


def test_missing_data_offline_is_a_clear_error(invoke, tmp_path):
    result = invoke("train-mnist", "--quick", "--data-dir", str(tmp_path / "empty"))
    refused(result, "train-images-idx3-ubyte.gz")
    assert "no download mirror" in result.stderr
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
    refused(changed, "lr: 0.05 -> 0.5")

    resumed = invoke("train-mnist", "--resume", str(run_dir), out=tmp_path / "b")
    assert resumed.exit_code == 0, resumed.stderr
    assert stopped.runs("train-mnist") == [run_dir]  # continued in place, no new directory
    meta = read(run_dir, "meta.json")
    assert meta["status"] == "completed" and len(meta["resumed"]) == 1
    a, b = straight.summary("train-mnist"), read(run_dir, "summary.json")
    assert b["epochs"] == 2
    assert numbers(a) == numbers(b)  # exact: same floats, same confusion matrix, same mistakes
    epochs_logged = [m["epoch"] for m in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
                     if "val/acc" in m]
    assert epochs_logged == [1, 2]


def test_records_logged_past_the_checkpoint_are_not_duplicated_by_the_resume(invoke, tmp_path, monkeypatch):
    """A stop after epoch 2 was logged but before its checkpoint was saved: the resume trains epoch 2 again, and
    metrics.jsonl holds it once (the runner drops the records past the checkpoint's step, core.command.Resume)."""
    args = ["train-mnist", *TINY, "--epochs", "2", "--target-acc", "null"]
    real_save, saves = training.save_checkpoint, []

    def stop_before_the_second_save(path, state):
        saves.append(path)
        if len(saves) == 2:
            raise Interrupted(signal.SIGINT)
        real_save(path, state)

    monkeypatch.setattr(training, "save_checkpoint", stop_before_the_second_save)
    stopped = invoke(*args, out=tmp_path / "b")
    assert stopped.exit_code == 130, stopped.stderr
    (run_dir,) = stopped.runs("train-mnist")
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    resumed = invoke("train-mnist", "--resume", str(run_dir), out=tmp_path / "b")
    assert resumed.exit_code == 0, resumed.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in records if "train/acc" in m] == [1, 2]
    steps = [m["step"] for m in records if "train/loss_step" in m]
    assert steps == sorted(set(steps))


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
        deadline = time.monotonic() + HUNG_S
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
    assert (run_dir / CHECKPOINT).is_file()
    assert f"continue it with: nnlab train-mnist --resume {run_dir}" in proc.stderr.read().decode()


def test_a_refused_resume_leaves_the_run_as_it_was(invoke, tmp_path):
    first = invoke("train-mnist", *TINY, "--epochs", "2", "--target-acc", "null", out=tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    (run,) = first.runs("train-mnist")
    before = (run / "meta.json").read_text(), (run / "config.yaml").read_text()

    fewer = invoke("train-mnist", "--resume", str(run), "--epochs", "1", out=tmp_path / "a")
    refused(fewer, "has finished 2 epochs")
    (run / CHECKPOINT).unlink()
    lost = invoke("train-mnist", "--resume", str(run), "--epochs", "3", out=tmp_path / "a")
    refused(lost, "no checkpoint")
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


# ----------------------------------------------------------------------------------------------------
# Checkpoints that cannot be trusted (issue 17)


class RunsCode:
    """A pickle that runs code when unpickled: writes a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def tamper(run: Path, copy: Path, write) -> Path:
    """A copy of `run` whose checkpoint `write(path)` rewrote; `write` returns whether to re-sign it."""
    shutil.copytree(run, copy, symlinks=True)
    ckpt = copy / CHECKPOINT
    if write(ckpt):  # an attacker who can write the checkpoint can write its checksum too
        checkpoints.checksum_path(ckpt).write_text(hashlib.sha256(ckpt.read_bytes()).hexdigest() + "  last.pt\n")
    return copy


def test_damaged_crafted_and_incomplete_checkpoints_are_refused(invoke, tmp_path):
    first = invoke("train-mnist", *TINY, "--epochs", "1", "--target-acc", "null", out=tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    (run,) = first.runs("train-mnist")
    ckpt = run / CHECKPOINT
    assert checkpoints.checksum_path(ckpt).read_text().split()[0] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    honest = torch.load(ckpt, weights_only=True)  # plain tensors and values only
    marker = tmp_path / "marker"

    def flip_a_byte(path):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        return False

    def crafted(path):
        torch.save({**honest, "history": RunsCode(marker)}, path)
        return True

    def missing_keys(path):
        torch.save({k: v for k, v in honest.items() if k != "optimizer"}, path)
        return True

    def wrong_shapes(path):
        torch.save({**honest, "model": {k: v[..., :1] if v.ndim else v for k, v in honest["model"].items()}}, path)
        return True

    def unsigned(path):
        checkpoints.checksum_path(path).unlink()
        return False

    cases = [(flip_a_byte, "does not match its SHA-256 in last.pt.sha256"), (crafted, "is not a plain checkpoint"),
             (missing_keys, "lacks optimizer"), (wrong_shapes, "does not fit this run"),
             (unsigned, "no checksum file last.pt.sha256")]
    for write, message in cases:
        copy = tamper(run, tmp_path / write.__name__, write)
        result = invoke("train-mnist", "--resume", str(copy), "--epochs", "2")
        refused(result, message)
        assert result.stderr.startswith("Error: --resume: ") and str(copy / CHECKPOINT) in result.stderr, write
        assert json.loads((copy / "meta.json").read_text())["status"] == "completed"  # untouched
    assert not marker.exists()  # the crafted checkpoint ran nothing ...
    import pickle

    pickle.loads(pickle.dumps(RunsCode(marker)))  # ... though unpickled freely it would have
    assert marker.read_text() == "ran"

    resumed = invoke("train-mnist", "--resume", str(run), "--epochs", "2")  # the honest one still resumes
    assert resumed.exit_code == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


# ----------------------------------------------------------------------------------------------------
# Claims (issue 16)


def test_every_claim_can_flip(invoke):
    """Each claim id, and the setting that flips it. Holding: the default recipe (measured 99.1-99.2%) holds
    both; --quick holds recognises-digits (93.4%). Failing, in a real run: --lr 1e-6 (a learning rate too small
    to move the weights in 3 steps) leaves the network at chance, so both fail."""
    flips = {"train-mnist.recognises-digits": "--lr 1e-6", "train-mnist.accuracy": "--lr 1e-6 (full data)",
             "train-mnist.dropout-narrows-gap": "--dropout 0.5 on a model that does not overfit (below)",
             "train-mnist.dropout-keeps-test-error": "--quick --dropout 0.95 (test_the_test_error_claim_flips_...)"}
    assert set(flips) == CLAIM_IDS
    result = invoke("train-mnist", *TINY, "--lr", "1e-6", "--target-acc", "null")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("train-mnist")
    # a subset run: the 99% expectation is not judged
    assert [c["id"] for c in summary["claims"]] == ["train-mnist.recognises-digits"]
    digits = claim_by_id(summary, "train-mnist.recognises-digits")
    assert not digits["holds"] and digits["measured"] < 0.5, digits
    # the same verdicts on crafted numbers, either side of each bar, for both models
    for model, bar in (("cnn", 0.99), ("mlp", 0.98)):
        verdict = {c["id"]: c["holds"] for c in accuracy_claims(model, bar, 10_000, 55_000)}
        assert verdict == {"train-mnist.recognises-digits": True, "train-mnist.accuracy": True}
        verdict = {c["id"]: c["holds"] for c in accuracy_claims(model, bar - 1e-4, 10_000, 55_000)}
        assert verdict == {"train-mnist.recognises-digits": True, "train-mnist.accuracy": False}
        verdict = {c["id"]: c["holds"] for c in accuracy_claims(model, 0.8999, 10_000, 55_000)}
        assert verdict == {"train-mnist.recognises-digits": False, "train-mnist.accuracy": False}
    assert [c["id"] for c in accuracy_claims("cnn", 0.5, 1_000, 2_000)] == ["train-mnist.recognises-digits"]
    full = accuracy_claims("cnn", 0.995, 10_000, 55_000)
    assert all("on 10,000 test images" in c["claim"] and "subset" not in c["claim"] for c in full)


@pytest.mark.parametrize("config, onednn", [
    (TrainMnistConfig(), True),
    (TrainMnistConfig(block="conv-bn-act-pool"), True),
    (TrainMnistConfig(batch_norm=False, hidden=[32], dropout=0.3), True),
    (TrainMnistConfig(activation="tanh"), False),  # not a layer oneDNN runs: the model itself
    (TrainMnistConfig(model="mlp"), False),
])
def test_evaluation_runs_the_same_function_faster(config, onednn):
    """evaluate() may run a CNN's blocks in oneDNN's layout; its logits are the model's to float32 rounding."""
    torch.manual_seed(0)
    model = build_model(config).to(memory_format=torch.channels_last)
    with torch.no_grad():  # batch statistics that are not the identity, so BN's eval path matters
        model(torch.randn(64, 1, 28, 28) * 2 + 0.5)
    model.eval()
    forward = training.inference_forward(model, "cpu", None)
    assert (forward is not model) == onednn
    x = torch.randn(300, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        ours, theirs = forward(x), model(x)
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5), float((ours - theirs).abs().max())
    assert training.inference_forward(model, "cuda", None) is model  # other devices: the model as it is


def test_evaluation_falls_back_to_the_model_where_onednn_disagrees(monkeypatch):
    model = build_model(TrainMnistConfig()).eval()
    monkeypatch.setattr(torch, "mkldnn_convolution", lambda *args: (_ for _ in ()).throw(RuntimeError("no oneDNN")))
    assert training.inference_forward(model, "cpu", None) is model


def test_a_run_from_before_the_block_option_resumes_in_its_own_order(invoke, tmp_path, monkeypatch):
    """Its config.yaml has no `block`: it trained conv-bn-act-pool, the default then (TrainMnistConfig.LEGACY)."""
    first = invoke("train-mnist", *TINY, "--block", "conv-bn-act-pool", "--epochs", "1", "--target-acc", "null",
                   out=tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    (run,) = first.runs("train-mnist")
    saved = run / "config.yaml"
    saved.write_text("".join(line for line in saved.read_text().splitlines(keepends=True)
                             if not line.startswith("block:")))  # as nnlab wrote it before the option
    meta = json.loads((run / "meta.json").read_text())
    del meta["config_sha256"]  # nor did it fix its config by a hash then
    (run / "meta.json").write_text(json.dumps(meta))
    with monkeypatch.context() as m:
        m.setattr(TrainMnistConfig, "LEGACY", {})  # without the legacy value: the new default, which cannot fit
        without_legacy = invoke("train-mnist", "--resume", str(run), "--epochs", "2", out=tmp_path / "a")
    refused(without_legacy, "does not fit this run")
    resumed = invoke("train-mnist", "--resume", str(run), "--epochs", "2", out=tmp_path / "a")
    assert resumed.exit_code == 0, resumed.stderr
    assert yaml.safe_load(saved.read_text())["block"] == "conv-bn-act-pool"


def test_dropout_is_judged_against_the_same_training_without_it(invoke):
    """Issue 25: `nnlab train-mnist --dropout 0.5` says what the lecture predicts for dropout, on that run: the
    same model trained without dropout (same seed and epochs) is the baseline. A smoke run barely overfits, so
    there is no gap to narrow: the lecture's claim fails there, and says why and what to try."""
    result = invoke("train-mnist", *TINY, "--dropout", "0.5", "--target-acc", "null")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("train-mnist")
    measured = summary["against_baseline"]
    assert measured["images"] == {"train": 300, "val": 100, "test": 100}
    assert "baseline (dropout 0): epoch 1:" in result.stderr  # the baseline's progress says whose it is
    gap = claim_by_id(summary, "train-mnist.dropout-narrows-gap")
    assert gap["source"] == "lecture" and "过拟合：丢弃法(Dropout)" in gap["claim"]
    assert gap["measured"]["gap_change"] == pytest.approx(measured["gap_dropout"] - measured["gap_none"])
    if not gap["holds"]:
        assert gap["reason"].startswith("the gap changed by") and "--epochs" in gap["tip"]
    # metrics.jsonl holds the user's model only: one record per epoch of it, none of the baseline
    (run_dir,) = result.runs("train-mnist")
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in lines if "val/acc" in r]
    assert len(epochs) == 1
    plain = invoke("train-mnist", *TINY, "--target-acc", "null", out=result.out / "b").summary("train-mnist")
    assert "against_baseline" not in plain and {c["id"] for c in plain["claims"]} == {
        "train-mnist.recognises-digits"}  # no dropout chosen: nothing to judge
    off = invoke("train-mnist", *TINY, "--dropout", "0.5", "--no-against-baseline", "--target-acc", "null",
                 out=result.out / "c").summary("train-mnist")
    assert "against_baseline" not in off


def test_the_dropout_claims_flip_on_crafted_numbers():
    """Either side of each bar: a narrowing beyond twice its standard error holds, one within it does not; a test
    error that rises beyond twice its standard error fails the nnlab claim; a NaN (a diverged baseline) fails both."""
    from nnlab.commands.train_mnist.choice import dropout_claims

    def judged(gap_change, err_change, se=0.01):
        c = {"gap_dropout": 0.05 + gap_change, "gap_none": 0.05, "gap_change": gap_change, "gap_change_se": se,
             "test_error_dropout": 0.02 + err_change, "test_error_none": 0.02, "test_error_change": err_change,
             "test_error_change_se": se}
        return [r["holds"] for r in dropout_claims(0.5, c)]

    assert judged(-0.021, 0.0) == [True, True]
    assert judged(-0.019, 0.0) == [False, True]
    assert judged(-0.03, 0.021) == [True, False]
    assert judged(-0.03, 0.019) == [True, True]
    assert judged(float("nan"), float("nan")) == [False, False]



@pytest.mark.slow  # two --quick trainings each (the run and its baseline): ~10 s
@pytest.mark.parametrize(("dropout", "holds"), [("0.5", True), ("0.95", False)])
def test_the_test_error_claim_flips_when_dropout_drops_nearly_everything(invoke, dropout, holds):
    """On the user's run: P = 0.5 costs a --quick CNN no test accuracy (measured 6.8% against 6.1%, within
    2 SE); P = 0.95 leaves it at 37% errors against 6%: the nnlab claim fails, saying why."""
    summary = invoke("train-mnist", "--quick", "--dropout", dropout).summary("train-mnist")
    claim = claim_by_id(summary, "train-mnist.dropout-keeps-test-error")
    assert claim["holds"] is holds, claim
    if not holds:
        assert claim["reason"].startswith("the test error rose from") and claim["tip"]

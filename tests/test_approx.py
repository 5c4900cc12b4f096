"""`nnlab approx` end to end: a quick run's plots and claims, the train mode, bad input, and a flip per claim."""

from __future__ import annotations

import json
import math

import pytest
from conftest import claim_by_id, refused


@pytest.mark.draws
def test_approx_quick_writes_every_plot_and_checks_the_claims(invoke):
    result = invoke("approx", "--quick")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("approx")
    assert {p.name for p in (run / "plots").glob("*.png")} == {
        "error_vs_width.png", "sup_vs_width.png", "width_needed.png", "fits_1d.png"}
    summary = result.summary("approx")
    assert summary["methods"] == ["net:sigmoid", "net:cos", "polynomial", "kernel", "linear"]
    ids = {c["id"] for c in summary["claims"]}
    exact = claim_by_id(summary, "approx.linear-exact")
    assert exact["holds"] and exact["measured"] < 1e-20
    assert "approx.barron-bound" in ids and any(i.startswith("approx.barron-rate.") for i in ids)
    # every (target, d, method, width) has a record with finite errors
    assert len(summary["results"]) == 3 * 2 * 5 * 5  # targets x dims x methods x widths
    assert all(math.isfinite(r["mse"]) and math.isfinite(r["sup"]) for r in summary["results"])
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 3 * 2 * 5 * 5 * 2  # one line per seed
    from nnlab.commands.approx.results import numbers

    named = numbers(summary)  # per target, d and network: 4 numbers, named whatever the row order
    assert len(named) == 3 * 2 * 2 * 4
    linear = [r for r in summary["results"] if (r["target"], r["d"], r["method"]) == ("linear", 2, "net:cos")]
    assert named["linear.d2.cos.rel_mse_at_largest_width"] == max(linear, key=lambda r: r["width"])["rel_mse"]


def test_approx_train_mode_and_an_expression_target(invoke, tmp_path):
    """(The same seed giving the same summary is tests/test_contract.py's, for every command.)"""
    args = ["approx", "--quick", "--fit", "train", "--dims", "1", "--target", "bump", "--target", "x1 * (1 - x1)",
            "--activation", "tanh", "--steps", "20"]
    first = invoke(*args, out=tmp_path / "a")
    assert first.exit_code == 0, first.stderr
    s1 = first.summary("approx")
    assert s1["fit"] == "train" and {r["target"] for r in s1["results"]} == {"bump", "x1 * (1 - x1)"}
    assert s1["targets"]["x1 * (1 - x1)"]["kind"] == "expression"


BAD = [
    (["--target", "banana"], "unknown target 'banana'"),
    (["--target", "bmp"], "did you mean 'bump'"),
    (["--activation", "swish"], "unknown activation 'swish'"),
    (["--widths", "0"], "--widths: must be >= 1"),
    (["--dims", "0"], "--dims: must be >= 1"),
    (["--fit", "sgd"], "is not one of features, train"),
    (["--target", "__import__('os').getcwd()"], "not allowed"),
    (["--target", "x.__class__"], "Attribute is not allowed"),
    (["--target", "x1.__dict__"], "Attribute is not allowed"),
    (["--target", "exec('x')"], "calling 'exec' is not allowed"),
    (["--target", "x5", "--dims", "2"], "x5 needs d >= 5"),
    (["--target", "x[2] * x1", "--dims", "1", "--dims", "4"], "x[2] is outside x[0]..x[0] (d = 1)"),
    (["--target", "42"], "does not depend on x"),
    (["--samples", "100"], "fewer than the largest width"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_bad_input_is_one_line_exit_2_and_no_run(invoke, args, message):
    result = invoke("approx", *args)
    refused(result, message)
    assert not result.out.exists() or not any(result.out.rglob("meta.json"))


@pytest.mark.slow
def test_every_claim_can_flip(invoke, tmp_path):
    """Settings of the user's that make each claim fail.

    Features 500x too narrow to bend (--feature-scale 0.01): the networks cannot fit the bump (Barron's
    rate and bound fail) and no curve has a slope to flatten (the curse claim fails). A kernel 10x too
    narrow (--kernel-width 0.02): its Gaussians cover [0, 1] only once D is large, so at the quick widths
    the networks win. A ridge of 1e-3 (--ridge) floors the error before any decay can show.
    """
    widths = [a for w in (2, 4, 8, 16, 64, 256) for a in ("--widths", str(w))]
    runs = {
        "base": invoke("approx", "--quick", out=tmp_path / "base"),
        "features": invoke("approx", "--quick", "--feature-scale", "0.01", *widths, out=tmp_path / "features"),
        "kernel": invoke("approx", "--quick", "--kernel-width", "0.02", out=tmp_path / "kernel"),
        "ridge": invoke("approx", "--quick", "--ridge", "1e-3", out=tmp_path / "ridge"),
    }
    verdicts = {}
    for name, result in runs.items():
        assert result.exit_code == 0, result.stderr
        verdicts[name] = {c["id"]: c["holds"] for c in result.summary("approx")["claims"]}
    assert all(verdicts["base"].values()), verdicts["base"]
    flipped_by = {i: ("features" if "kernel" not in i else "ridge" if "exponential" in i else "kernel")
                  for i in verdicts["base"]}
    assert {i: verdicts[run][i] for i, run in flipped_by.items()} == dict.fromkeys(flipped_by, False)


def test_ctrl_c_stops_fit_train_within_a_step_not_after_the_width(invoke, monkeypatch):
    """Issue 29: one width of --fit train ran all its steps before a Ctrl-C was seen (minutes at 1e6 steps)."""
    import signal
    import time

    from nnlab.nn import approximation

    real = approximation.train_width

    def ctrl_c_then_train(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # the run's handler notes it; the next check_stop raises
        return real(*args, **kwargs)

    monkeypatch.setattr(approximation, "train_width", ctrl_c_then_train)
    start = time.monotonic()
    result = invoke("approx", "--quick", "--fit", "train", "--dims", "1", "--activation", "relu", "--steps", "1000000")
    assert result.exit_code == 130, result.stderr
    assert time.monotonic() - start < 30  # 1e6 Adam steps take minutes; the stop comes at the first one
    (run,) = result.runs("approx")
    assert json.loads((run / "meta.json").read_text())["status"] == "interrupted"

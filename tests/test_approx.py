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
    assert len(named) == 3 * 2 * 2 * 4 + 2 + 3  # + learned against random features, + Weierstrass per target
    assert named["weierstrass.sawtooth.sup_at_max_degree"] < 0.1
    assert named["learned_features.learned_rel_mse"] < named["learned_features.random_rel_mse"]
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


# For each claim id, a setting of the user's that makes it fail, and why.
NARROW = ["--feature-scale", "0.01", *(a for w in (2, 4, 8, 16, 64, 256) for a in ("--widths", str(w)))]
FLIPS = [
    # Features 500x too narrow to bend: the networks cannot fit the bump, so no rate, bound or flattening.
    ("approx.barron-rate.net:sigmoid", NARROW),
    ("approx.barron-rate.net:cos", NARROW),
    ("approx.barron-bound", NARROW),
    ("approx.barron-bound-sigmoid", NARROW),
    ("approx.curse.net:sigmoid", NARROW),
    ("approx.curse.net:cos", NARROW),
    # A ridge of 1e-4 floors kernel ridge's error at 1e-3 after a few widths: too few to tell the decay law.
    ("approx.kernel-exponential", ["--ridge", "1e-4"]),
    # Kernels 10x too narrow cover [0, 1] only once D is large: at the quick widths the networks win.
    ("approx.kernel-beats-networks", ["--kernel-width", "0.02"]),
    # 50 Adam steps from W2 = 0 have not yet caught up with least squares on the same fixed features.
    ("approx.learned-features", ["--learn-steps", "50"]),
    # A degree-2 polynomial cannot bend to the sawtooth's four kinks: its sup error stays near the range.
    ("approx.weierstrass", ["--max-degree", "2"]),
    # eps = 0.001 of the range is beyond the sweep's widest network on the sawtooth (it promises some wider D).
    ("approx.cybenko-sup.net:sigmoid", ["--epsilon", "0.001"]),
    ("approx.cybenko-sup.net:cos", ["--epsilon", "0.001"]),
    # Widths up to 8 do not reach MSE / Var f = 0.01 on the sawtooth even at d = 1: no growth can be measured.
    # (A loose error does not flip it: even at 0.5 the width needed grew 4x from d = 1 to d = 2.)
    ("approx.curse-exponential.net:sigmoid", ["--widths", "2", "--widths", "4", "--widths", "8"]),
    ("approx.curse-exponential.net:cos", ["--widths", "2", "--widths", "4", "--widths", "8"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[f[0] for f in FLIPS])
def test_every_claim_flips(invoke, claim_id, args):
    result = invoke("approx", "--quick", *args)
    assert result.exit_code == 0, result.stderr
    record = claim_by_id(result.summary("approx"), claim_id)
    assert record["kind"] == "claim" and record["holds"] is False, record
    assert record["reason"] and record.get("tip"), record  # a sentence in terms of what was measured, a setting


def test_every_claim_has_a_flip(invoke):
    summary = invoke("approx", "--quick").summary("approx")
    assert all(c["holds"] for c in summary["claims"]), [c for c in summary["claims"] if not c["holds"]]
    assert {c["id"] for c in summary["claims"]} <= {f[0] for f in FLIPS}
    assert {c["id"] for c in summary["checks"]} == {"approx.linear-exact", "approx.barron-constant"}
    assert all(c["holds"] for c in summary["checks"])


def test_ctrl_c_stops_fit_train_within_a_step_not_after_the_width(invoke, monkeypatch):
    """Issue 29: one width of --fit train ran all its steps before a Ctrl-C was seen (minutes at 1e6 steps)."""
    import signal
    import time

    from nnlab.nn import approximation_train

    real = approximation_train.train_width

    def ctrl_c_then_train(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)  # the run's handler notes it; the next check_stop raises
        return real(*args, **kwargs)

    monkeypatch.setattr(approximation_train, "train_width", ctrl_c_then_train)
    start = time.monotonic()
    result = invoke("approx", "--quick", "--fit", "train", "--dims", "1", "--activation", "relu", "--steps", "1000000")
    assert result.exit_code == 130, result.stderr
    assert time.monotonic() - start < 30  # 1e6 Adam steps take minutes; the stop comes at the first one
    (run,) = result.runs("approx")
    assert json.loads((run / "meta.json").read_text())["status"] == "interrupted"


def test_chunked_predictions_equal_one_dense_product():
    """fit.predict_in_chunks (features into a reused buffer, CHUNK rows at a time, nested products) against the
    features of every point at once and ap.predict, for rows that are not a multiple of CHUNK."""
    import numpy as np
    import torch

    from nnlab.commands.approx import fit
    from nnlab.nn import activations
    from nnlab.nn import approximation as ap

    rng = np.random.default_rng(0)
    S, D, d, m = 2, 9, 2, 2 * fit.CHUNK + 17
    act = activations.get("sigmoid")
    w, b = (torch.from_numpy(a) for a in ap.draw_features(rng, "sigmoid", d, D, 5.0, S))
    x_train = torch.from_numpy(rng.random((S, 64, d)))
    y = torch.from_numpy(rng.random((S, 64, 2)))
    sizes = [2, 4, 10]
    coefs = ap.nested_solve(*ap.normal_equations(ap.features(act, x_train, w, b), y), sizes, 1e-10)
    x_all = np.broadcast_to(rng.random((m, d)), (S, m, d))
    got = fit.predict_in_chunks(lambda xc, out: ap.features(act, torch.from_numpy(xc.copy()), w, b, out), x_all,
                                coefs, sizes, D)
    want = ap.predict(ap.hidden(act, torch.from_numpy(x_all.copy()), w, b), coefs).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)  # summation order only; |F| is about 1

"""nnlab backprop: the slide's table and gradient, user formulas against torch, refusals, the cost
claims and the settings that flip them, MNIST training side by side."""

from __future__ import annotations

import pytest
from conftest import claim_by_id, refused

from nnlab.commands.backprop.chain import chain_claims
from nnlab.commands.backprop.cost import BACKWARD_SLOPE, MEMORY_SLOPE, RATIO_SLOPE_MAX, cost_claims
from nnlab.nn import formulas

CHAIN_ONLY = ("--no-cost", "--no-train")
# A cost setting that runs in a few seconds: width 128 keeps the matrix work above the per-op overhead.
SMALL_COST = ("--no-train", "--cost-width", "128", "--cost-batch", "32", "--repeats", "3", "--min-sample-ms", "5")


@pytest.mark.draws
def test_the_slide_table_and_graph(invoke):
    result = invoke("backprop", *CHAIN_ONLY)
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    assert summary["value"] == 144.0 and summary["gradient"] == {"x": 192.0, "y": 96.0, "z": 72.0}
    nodes = {n["name"]: (n["value"], n["adjoint"]) for n in summary["nodes"]}
    assert nodes == {"x": (1, 192), "y": (2, 96), "z": (4, 72), "u": (1, 96), "v": (3, 96), "w": (12, 24),
                     "r": (144, 1)}
    assert summary["nodes"][5]["local"] == {"z": 3.0, "v": 4.0}  # w = z v: dw/dz = v, dw/dv = z
    assert summary["torch"]["gradient"] == summary["gradient"]
    slide = claim_by_id(summary, "backprop.slide-gradient")
    assert slide["kind"] == "check" and slide["holds"]
    assert claim_by_id(summary, "backprop.matches-torch")["holds"]
    assert claim_by_id(summary, "backprop.matches-finite-differences")["holds"]
    for text in ("144", "192", "96", "72", "w ** 2", "z * v"):
        assert text in result.output
    (run,) = result.runs("backprop")
    assert (run / "plots" / "graph.png").stat().st_size > 10000
    from nnlab.commands.backprop.results import numbers

    named = numbers(summary)
    assert (named["value"], named["gradient.z"], named["node.w.adjoint"]) == (144.0, 72.0, 24.0)
    assert named["cost.engine.backward_slope"] is None and named["train.test_accuracy_engine"] is None  # not run


def test_the_slide_elsewhere(invoke):
    result = invoke("backprop", *CHAIN_ONLY, "--point", "x=2,y=1,z=3")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    assert summary["value"] == 225.0 and summary["gradient"] == {"x": 360.0, "y": 90.0, "z": 150.0}
    assert claim_by_id(summary, "backprop.slide-gradient")["holds"]


@pytest.mark.parametrize(("text", "point"), [
    ("-a/b + relu(a - b)**2 * c", "a=1.5,b=-0.5,c=2"),
    ("u = x**3 / (y - z); r = -relu(u)**0.5 + u**2", "3,1,0.5"),
    ("(p + q**-2) / -relu(p*q - 1)", "p=-2,q=-1.5"),
])
def test_user_formulas_match_torch(invoke, text, point):
    result = invoke("backprop", *CHAIN_ONLY, "--expr", text, "--point", point)
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    assert "backprop.slide-gradient" not in {c["id"] for c in summary["claims"] + summary["checks"]}
    assert summary["value"] == pytest.approx(summary["torch"]["value"], rel=1e-9)
    for v, g in summary["gradient"].items():
        assert g == pytest.approx(summary["torch"]["gradient"][v], rel=1e-9)
    assert claim_by_id(summary, "backprop.matches-finite-differences")["holds"]


def test_a_kink_flips_the_finite_difference_claim(invoke):
    """relu(x) at 0: the engine (and torch) use the subgradient 0, finite differences 0.5."""
    result = invoke("backprop", *CHAIN_ONLY, "--expr", "relu(x) + x**2", "--point", "0")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    assert claim_by_id(summary, "backprop.matches-torch")["holds"]
    finite_differences = claim_by_id(summary, "backprop.matches-finite-differences")
    assert not finite_differences["holds"] and finite_differences["measured"] == pytest.approx(1.0)


@pytest.mark.parametrize(("args", "message"), [
    (["--expr", "x*("], "--expr: not a formula"),
    (["--expr", "__import__('os')"], "calling '__import__' is not allowed"),
    (["--point", "x=1,y=2"], "no value for z"),
    (["--expr", "x*y"], "give a value for x, y"),
    (["--point", "x=nan,y=1,z=1"], "not a finite number"),
    (["--expr", "log(x - 2)", "--point", "1"], "undefined at x=1"),
    (["--expr", "x**-1", "--point", "0"], "undefined at x=0"),
    (["--cost-depths", "1", "--cost-depths", "2", "--cost-depths", "4"], "at least 6 sizes"),
    (["--set", "cost_depths=[1, 2, 3, 4, 5, 6]"], "spanning 100x"),
    (["--set", "cost_depths=[1, 2, 4, 8, 16, 32, 64, 128, 1]"], "each value once"),
    (["--cost-width", "4096", "--set", "cost_depths=[1, 10, 100, 1000, 2000, 4096]"], "GiB"),
    (["--train-batch", "500", "--train-samples", "100"], "larger than --train-samples"),
    (["--cost-libraries", "jax"], "not one of engine, torch"),
    (["--device", "cuda"], "runs on the CPU"),
])
def test_bad_input_is_one_line_exit_2_and_no_run(invoke, args, message):
    result = invoke("backprop", *args)
    refused(result, message)
    assert result.runs("backprop") == []


def _cost(ratio, backward, memory):
    rows = [{"ratio": 3.0}]
    return {"backward_method": "reverse", "engine_vs_torch_max_rel": 1e-16,
            "rows": {"engine": rows, "torch": rows},
            "slopes": {lib: {"ratio": ratio, "backward": backward, "memory": memory} for lib in ("engine", "torch")}}


def test_cost_claims_judge_the_slopes():
    held = {c["id"]: c["holds"] for c in cost_claims(_cost(0.02, 0.99, 1.0))}
    assert held == {"backprop.cost-ratio-bounded": True, "backprop.cost-linear": True, "backprop.memory-linear": True,
                    "backprop.mlp-matches-torch": True}
    # What recompute measured: ratio slope ~0.5, backward ~1.5, memory 0.
    held = {c["id"]: c["holds"] for c in cost_claims(_cost(0.5, 1.5, 0.0))}
    assert not any(held[k] for k in ("backprop.cost-ratio-bounded", "backprop.cost-linear", "backprop.memory-linear"))
    assert RATIO_SLOPE_MAX < 0.45 and BACKWARD_SLOPE[1] < 1.3 and MEMORY_SLOPE[0] > 0.5


def test_chain_claims_can_fail():
    chain = {"output": "r", "point": dict(formulas.SLIDE_POINT), "value": 144.0,
             "gradient": {"x": 192.0, "y": 96.0, "z": 73.0}, "finite_differences": {"step": 1e-6},
             "differences": {"torch_max_rel": 1e-3, "fd_max_rel": 1e-3}}
    assert not any(c["holds"] for c in chain_claims(chain, slide=True))


@pytest.mark.draws
@pytest.mark.slow
def test_cost_claims_hold_for_back_propagation(invoke):
    result = invoke("backprop", *SMALL_COST, "--expr", "x*y", "--point", "1,2")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    for cid in ("backprop.cost-ratio-bounded", "backprop.cost-linear", "backprop.memory-linear",
                "backprop.mlp-matches-torch"):
        assert claim_by_id(summary, cid)["holds"], claim_by_id(summary, cid)
    cost = summary["cost"]
    assert len(cost["rows"]["engine"]) == 8 and cost["threads"]["torch"] == 1
    assert set(cost["slopes"]["torch"]) == {"ratio", "backward", "forward", "memory"}
    (run,) = result.runs("backprop")
    assert (run / "plots" / "cost.png").is_file()


@pytest.mark.slow
def test_recompute_without_stored_intermediates_fails_the_cost_claims(invoke):
    """--cost-backward recompute: O(depth^2) time and O(1) memory; the lecture's O(N) claims must fail."""
    result = invoke("backprop", *SMALL_COST, "--cost-backward", "recompute", "--cost-libraries", "engine",
                    "--cost-batch", "16", "--warmup", "0", "--min-sample-ms", "2")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    for cid in ("backprop.cost-ratio-bounded", "backprop.cost-linear"):
        assert not claim_by_id(summary, cid)["holds"], claim_by_id(summary, cid)
    assert summary["cost"]["slopes"]["engine"]["backward"] > 1.35  # measured 1.54 (O(depth^2) plus overheads)
    # memory-linear is a check of the method: recompute keeps nothing that grows with N (slope 0), and it holds
    memory = claim_by_id(summary, "backprop.memory-linear")
    assert memory["kind"] == "check" and memory["holds"] and abs(memory["measured"]["engine"]) <= 0.1


@pytest.mark.draws
@pytest.mark.slow
def test_training_agrees_with_torch(invoke, tmp_path):
    args = ("backprop", "--no-cost", "--train-samples", "1000", "--train-steps", "60", "--train-hidden", "64",
            "--test-samples", "500")
    result = invoke(*args, out=tmp_path / "a")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("backprop")
    assert claim_by_id(summary, "backprop.train-matches-torch")["holds"]
    assert claim_by_id(summary, "backprop.engine-trains")["holds"]
    assert summary["train"]["last_loss"] < summary["train"]["first_loss"] / 2
    assert abs(summary["train"]["test_accuracy_engine"] - summary["train"]["test_accuracy_torch"]) <= 0.002
    (run,) = result.runs("backprop")
    assert (run / "plots" / "train.png").is_file()


# For each claim id, a setting of the user's that makes it fail, and why.
FLIPS = [
    # relu at its kink: the chain rule's subgradient 0 against finite differences' average slope 0.5.
    ("backprop.matches-finite-differences", ["--no-cost", "--no-train", "--expr", "relu(x) + x**2", "--point", "0"]),
    # Keep no intermediates, recompute each layer's input: O(depth^2) time, the lecture's O(N) fails.
    ("backprop.cost-ratio-bounded", ["--no-train", "--cost-backward", "recompute", "--cost-libraries", "engine",
                                     "--cost-batch", "16", "--warmup", "0", "--min-sample-ms", "2"]),
    ("backprop.cost-linear", ["--no-train", "--cost-backward", "recompute", "--cost-libraries", "engine",
                              "--cost-batch", "16", "--warmup", "0", "--min-sample-ms", "2"]),
    # A learning rate 10,000 times too small: 60 SGD steps barely move the weights.
    ("backprop.engine-trains", ["--no-cost", "--train-lr", "1e-5"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[f[0] for f in FLIPS])
def test_every_claim_flips(invoke, claim_id, args):
    result = invoke("backprop", "--quick", *args)
    assert result.exit_code == 0, result.stderr
    record = claim_by_id(result.summary("backprop"), claim_id)
    assert record["kind"] == "claim" and record["holds"] is False, record
    assert record["reason"] and record.get("tip"), record


@pytest.mark.slow
def test_every_claim_has_a_flip(invoke):
    summary = invoke("backprop", "--quick").summary("backprop")
    assert all(c["holds"] for c in summary["claims"] + summary["checks"])
    assert {c["id"] for c in summary["claims"]} == {f[0] for f in FLIPS}
    assert claim_by_id(summary, "backprop.memory-linear")["kind"] == "check"
    assert len(summary["train"]["test_accuracy_engine_seeds"]) == 3  # the accuracy over three seeds


def test_help_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom nnlab.cli import cli\ntry:\n    cli.main(['backprop', '--help'])\n"
            "except SystemExit:\n    pass\nprint('TORCH=' + str('torch' in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--cost-backward" in out and out.strip().splitlines()[-1] == "TORCH=False"


def test_a_time_lost_in_noise_fails_the_claim_instead_of_crashing():
    """A busy machine once measured forward+backward below forward at one size: no logarithm, no slope."""
    from nnlab.nn.backprop_cost import loglog_slope

    assert loglog_slope([1, 2, 4], [1.0, -0.1, 4.0]) is None
    cost = _cost(0.02, 0.99, 1.0)
    cost["slopes"]["torch"]["backward"] = None
    held = {c["id"]: c["holds"] for c in cost_claims(cost)}
    assert held["backprop.cost-linear"] is False and held["backprop.memory-linear"] is True


def test_train_engine_is_train_both_without_torch():
    """The further seeds' engine-only training does exactly the engine half of train_both."""
    import numpy as np

    from nnlab.nn.backprop_cost import init_weights
    from nnlab.nn.engine_training import train_both, train_engine

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    batches = [rng.permutation(40)[:10] for _ in range(5)]
    weights = init_weights(np.random.default_rng(1), [6, 5, 3])
    both = train_both(weights, x, y, batches, "tanh", 0.1, x, y)
    alone = train_engine(weights, x, y, batches, "tanh", 0.1, x, y)
    assert alone["loss_engine"] == both["loss_engine"]
    assert alone["test_accuracy_engine"] == both["test_accuracy_engine"]

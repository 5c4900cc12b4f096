"""nnlab attention: the CLI, its claims (and the settings that flip them), bad input, the plots."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import claim_by_id, refused

from nnlab.commands.attention import results, retrieve
from nnlab.commands.attention.claims import beats_claim, scaling_claim, spread

# Small but real: one block of width 32, two heads, a short run per mixer.
TINY = ("--dim", "32", "--heads", "2", "--layers", "1", "--seeds", "1", "--eval-sequences", "200",
        "--entropy-dims", "4", "--entropy-dims", "256", "--threads", "1")


def test_help_imports_no_torch():
    code = ("import sys\nfrom nnlab.cli import cli\n"
            "try:\n    cli.main(['attention', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "print('TORCH' if 'torch' in sys.modules else 'LIGHT')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "--heads" in out and out.strip().splitlines()[-1] == "LIGHT"


@pytest.mark.draws
@pytest.mark.slow
def test_retrieve_run_holds_its_claims_and_draws(invoke):
    result = invoke("attention", *TINY, "--steps", "200")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("attention")
    claims = {c["id"]: c for c in summary["claims"] + summary["checks"]}
    assert set(claims) == {"attention.matches-torch", "attention.scaling-keeps-softmax-soft",
                           "attention.beats-mean-pooling", "attention.encoder-decoder-forms",
                           "attention.unnormalised-line"}
    assert claims["attention.matches-torch"]["kind"] == "check"
    assert all(c["holds"] for c in claims.values()), claims
    assert max(summary["matches_torch"].values()) < 1e-12
    # the mean-pooling control stays near the best blind guess (a value present in the sequence)
    mean_acc = summary["results"]["mean"][0]["eval/acc"]
    assert mean_acc < summary["guess_present_value_acc"] + 0.1
    (run,) = result.runs("attention")
    names = {p.name for p in (run / "plots").glob("*.png")}
    assert names == {"attention_maps.png", "training_curves.png", "entropy.png"}
    hits = np.asarray(summary["maps"]["hits"])  # (layers, heads): some head finds the queried pair
    assert hits.max() > 0.9
    assert "mean" in result.output and "attention" in result.output


# For each claim id, settings of the user's that make it fail, and why.
FLIPS = [
    # Two steps: the attention model never reaches 0.9, so it has not learned the lookup.
    ("attention.beats-mean-pooling", ["--steps", "2"]),
    # One pair per sequence: its value is the only one present, mean pooling knows it as well as attention.
    ("attention.beats-mean-pooling", ["--pairs", "1", "--queries", "1"]),
    # m = 1, 2: q . k has one or two terms, so 1/sqrt(m) changes the softmax little.
    ("attention.scaling-keeps-softmax-soft", ["--entropy-dims", "1", "--entropy-dims", "2"]),
    # 64 training images, one step an epoch: six steps do not learn MNIST.
    ("attention.vit-learns", ["--task", "vit", "--train-samples", "64", "--val-samples", "100",
                              "--test-samples", "500"]),
]


@pytest.mark.parametrize(("claim_id", "args"), FLIPS, ids=[f"{f[0]} {' '.join(f[1][:2])}" for f in FLIPS])
def test_every_claim_flips(invoke, claim_id, args):
    result = invoke("attention", "--quick", *args)
    assert result.exit_code == 0, result.stderr
    summary = result.summary("attention")
    record = claim_by_id(summary, claim_id)
    assert record["kind"] == "claim" and record["holds"] is False, record
    assert record["reason"] and record.get("tip"), record
    assert all(c["holds"] for c in summary["checks"])  # identities hold whatever the setting


@pytest.mark.slow
def test_every_claim_has_a_flip(invoke, tmp_path):
    ids = set()
    for i, args in enumerate((["--quick"], ["--quick", "--task", "vit"])):
        summary = invoke("attention", *args, out=tmp_path / str(i)).summary("attention")
        assert all(c["holds"] for c in summary["claims"] + summary["checks"]), summary["claims"]
        ids |= {c["id"] for c in summary["claims"]}
    assert ids == {f[0] for f in FLIPS}


def test_the_lecture_forms_are_checks_that_hold_and_can_fail():
    """f = sum <h, x_i> x_i and softmax(score) attention against torch; the literal unnormalised line grows with n."""
    from nnlab.commands.attention.forms import lecture_form_checks, lecture_forms
    from nnlab.nn import attention as att

    forms = lecture_forms(16, 0)
    records = {c["id"]: c for c in lecture_form_checks(forms)}
    assert all(c["kind"] == "check" and c["holds"] for c in records.values())
    assert forms["unnormalised_slope"] > 0.4 and forms["softmax_slope"] < 0.1
    # the literal line against its definition: sum_j <q_i, k_j> v_j written as a loop
    rng = np.random.default_rng(1)
    X, Wq, Wk, Wv = rng.standard_normal((5, 3)), *(rng.standard_normal((4, 3)) for _ in range(3))
    q, k, v = X @ Wq.T, X @ Wk.T, X @ Wv.T
    loop = np.array([sum((q[i] @ k[j]) * v[j] for j in range(5)) for i in range(5)])
    np.testing.assert_allclose(att.unnormalised_attention(X, Wq, Wk, Wv), loop, rtol=1e-12)
    broken = dict(forms, unnormalised_slope=0.1, encoder_decoder_max_diff=1e-3)
    assert not any(c["holds"] for c in lecture_form_checks(broken))


@pytest.mark.parametrize(("args", "words"), [
    (("--heads", "3", "--dim", "64"), "not divisible"),
    (("--pairs", "20", "--n-keys", "16"), "n_keys"),
    (("--queries", "9", "--pairs", "8"), "queries"),
    (("--patch", "5"), "tile 28"),
    (("--norm", "middle"), "pre, post"),
    (("--task", "sort"), "retrieve, vit"),
    (("--heads", "0"), ">= 1"),
    (("--entropy-dims", "4", "--entropy-dims", "4"), "each value once"),
    (("--train-samples", "58000", "--val-samples", "5000"), "60000"),
    (("--batch-size", "4096", "--dim", "1024", "--layers", "24", "--heads", "64"), "GiB"),
    (("--lr", "0"), "> 0"),
])
def test_bad_input_is_one_line_and_exit_2(invoke, args, words):
    result = invoke("attention", *args)
    refused(result, words)
    assert result.runs("attention") == []


def test_post_norm_runs(invoke):
    result = invoke("attention", *TINY, "--steps", "2", "--norm", "post")
    assert result.exit_code == 0, result.stderr
    assert result.summary("attention")["norm"] == "post"


@pytest.mark.draws
def test_vit_runs_draws_and_a_starved_vit_does_not_learn(invoke):
    """--train-samples 64 (one step) flips attention.vit-learns. That it holds on recipes/attention-vit.yaml
    (two epochs over 55,000 images, measured 96.35% test accuracy) takes minutes, so no test reruns it."""
    result = invoke("attention", "--task", "vit", "--dim", "32", "--heads", "2", "--layers", "1", "--train-samples",
                    "64", "--val-samples", "500", "--test-samples", "500", "--entropy-dims", "4",
                    "--entropy-dims", "256", "--examples", "2")
    assert result.exit_code == 0, result.stderr
    summary = result.summary("attention")
    vit = claim_by_id(summary, "attention.vit-learns")
    assert not vit["holds"] and vit["measured"]["test_accuracy"]["mean"] < 0.5
    assert summary["vit"]["test_samples"] == 500 and summary["vit"]["steps"] == 1
    assert len(summary["vit"]["seeds"]) == 3  # --seeds ViTs, each scored
    assert len(summary["vit"]["maps"]["weights"][0][0][0]) == 17  # [CLS] + 16 patches: (17, 17) per head
    (run,) = result.runs("attention")
    names = {p.name for p in (run / "plots").glob("*.png")}
    assert names == {"attention_maps.png", "training_curves.png", "entropy.png", "positional_encoding.png"}


def test_make_batch_pairs_each_query_with_its_value():
    keys, values, queries, answers, where = retrieve.make_batch(50, 6, 4, 10, 7, np.random.default_rng(0))
    assert keys.shape == values.shape == (50, 6) and queries.shape == answers.shape == where.shape == (50, 4)
    for b in range(50):
        assert len(set(keys[b])) == 6 and len(set(queries[b])) == 4
        for q, a, w in zip(queries[b], answers[b], where[b], strict=True):
            assert keys[b, w] == q and values[b, w] == a


def test_claim_rules():
    """beats-mean-pooling is judged where attention first reaches 0.9, on curves of (step, accuracy)."""
    def runs(att_curve, mean_curve, n=3):
        return {"attention": [{"eval/acc": att_curve[-1][1], "curve": att_curve}] * n,
                "mean": [{"eval/acc": mean_curve[-1][1], "curve": mean_curve}] * n}

    class C:
        pairs = queries = 8
        seeds, steps, log_every = 3, 150, 25

    fast = [[25, 0.4], [50, 1.0], [75, 1.0]]
    assert beats_claim(runs(fast, [[25, 0.1], [50, 0.2], [75, 0.95]]), C)["holds"]  # mean pooling climbs late
    assert not beats_claim(runs(fast, [[25, 0.1], [50, 0.8], [75, 0.95]]), C)["holds"]  # close behind
    assert not beats_claim(runs([[25, 0.4], [50, 0.6]], [[25, 0.1], [50, 0.2]]), C)["holds"]  # never learned
    assert not beats_claim(runs(fast, [[25, 0.1], [50, float("nan")]]), C)["holds"]  # diverged control
    assert spread([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(2**0.5), "min": 1.0, "max": 3.0}
    assert spread([0.5]) == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    flat = [{"m": m, "scaled": 3.0, "unscaled": 2.9} for m in (4, 1024)]
    assert not scaling_claim(flat, 32)["holds"]
    drift = [{"m": 4, "scaled": 3.0, "unscaled": 2.0}, {"m": 1024, "scaled": 2.0, "unscaled": 0.1}]
    assert not scaling_claim(drift, 32)["holds"]


def test_numbers_are_named_by_what_they_are():
    """numbers(): stable dotted names from the summary alone, the same whatever order the mixers come in."""
    common = {"matches_torch": {"mha": 1e-15, "sdpa": 3e-16, "port": 2e-15},
              "entropy": [{"m": 4, "scaled": 3.0, "unscaled": 2.3}, {"m": 256, "scaled": 3.0, "unscaled": 0.2}]}
    runs = {"attention": [{"eval/acc": 0.9, "train_s": 1.0}, {"eval/acc": 1.0, "train_s": 3.0}],
            "mean": [{"eval/acc": 0.2, "train_s": 1.0}]}
    retrieve_summary = {"task": "retrieve", **common, "results": runs, "guess_present_value_acc": 0.26,
                        "maps": {"hits": [[0.5, 0.95], [0.7, 0.1]]}}
    named = results.numbers(retrieve_summary)
    assert named["matches_torch.max_error"] == 2e-15
    assert named["entropy.unscaled.m256"] == 0.2 and named["entropy.scaled.m4"] == 3.0
    assert named["retrieval.accuracy"] == pytest.approx(0.95) and named["retrieval.accuracy_min"] == 0.9
    assert named["retrieval.train_s"] == 2.0 and named["mean_pooling.accuracy"] == 0.2
    assert named["blind_guess.accuracy"] == 0.26 and named["retrieval.lookup_hits"] == 0.95
    swapped = {**retrieve_summary, "results": {"mean": runs["mean"], "attention": runs["attention"]}}
    assert results.numbers(swapped) == named
    assert results.numbers({**retrieve_summary, "maps": None})["retrieval.lookup_hits"] is None
    vit = {"task": "vit", **common, "vit": {"test/acc": 0.97, "test/loss": 0.1, "val/acc": None, "epochs": 1,
                                            "steps": 16, "train_s": 2.5, "params": 12345}}
    named = results.numbers(vit)
    assert named["vit.test.acc"] == 0.97 and named["vit.val.acc"] is None and named["vit.params"] == 12345.0
    assert not any(name.startswith("retrieval.") for name in named)


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("mixer", ["attention", "mean"])
def test_stacked_seeds_train_as_the_separate_models(mixer, norm):
    """StackedRetrievalNet (seed axis, query-only last block, scaled_dot_product_attention, mean pooling before
    its linear maps) against S separate RetrievalNets (explicit softmax(q k^T / sqrt(d)) v) in float64: logits,
    every gradient, and three AdamW steps. Tolerance 1e-10: the same maths up to summation order."""
    import torch
    import torch.nn.functional as F

    from nnlab.commands.attention.stacked import StackedRetrievalNet
    from nnlab.nn.param_rules import lecture_adam
    from nnlab.nn.transformer import RetrievalNet

    S, B, P, Q = 3, 5, 6, 4
    models = []
    for s in range(S):
        torch.manual_seed(s)
        models.append(RetrievalNet(10, 7, 16, 2, 2, norm, mixer).double())
    stacked = StackedRetrievalNet(models)
    rng = np.random.default_rng(0)
    batches = [[torch.from_numpy(a) for a in retrieve.make_batch(B, P, Q, 10, 7, rng)] for _ in range(S)]
    keys, values, queries, answers = (torch.stack([b[i] for b in batches]) for i in range(4))
    opts = [lecture_adam(m.parameters(), lr=1e-2, weight_decay=0.01, decoupled=True) for m in models]
    opt = lecture_adam(stacked.parameters(), lr=1e-2, weight_decay=0.01, decoupled=True)
    for step in range(3):
        logits = stacked(keys, values, queries)  # (S, B, Q, V)
        loss = F.cross_entropy(logits.flatten(0, 2), answers.flatten(), reduction="none").view(S, -1).mean(1)
        opt.zero_grad()
        loss.sum().backward()
        for s, (m, o, b) in enumerate(zip(models, opts, batches, strict=True)):
            ref, _ = m(*b[:3])
            np.testing.assert_allclose(logits[s].detach().numpy(), ref.detach().numpy(), atol=1e-10)
            o.zero_grad()
            F.cross_entropy(ref.flatten(0, 1), b[3].flatten()).backward()
            for name, p in m.named_parameters():
                np.testing.assert_allclose(stacked.p(name).grad[s].numpy(), p.grad.numpy(), atol=1e-10,
                                           err_msg=f"step {step} seed {s} {name}")
            o.step()
        opt.step()
    copy = stacked.unstack(1, RetrievalNet(10, 7, 16, 2, 2, norm, mixer).double())
    for name, p in copy.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), dict(models[1].named_parameters())[name].detach().numpy(),
                                   atol=1e-10)

"""Fixed costs stay cut: no torch._dynamo on the default paths, no pyplot for figures.

Constructing any torch.optim optimizer imports torch._dynamo (the cost and its reason are stated once, in
nnlab/nn/param_rules.py); the commands train with nnlab.nn.param_rules instead. Each check runs in a fresh
interpreter, since this test session may already have imported anything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import nnlab
result = nnlab.run({command!r}, quick=True, out={out!r}, **{options!r})
print(json.dumps({{"status": result.status, "dynamo": "torch._dynamo" in sys.modules,
                  "pyplot": "matplotlib.pyplot" in sys.modules, "figures": len(result.figures)}}))
"""


def probe(tmp_path, command: str, **options) -> dict:
    code = PROBE.format(command=command, out=str(tmp_path), options=options)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={
        **__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_attention_quick_imports_no_dynamo_and_no_pyplot(tmp_path):
    # the retrieve task alone keeps it short; the ViT task trains with the same FlatRule (vit.py)
    seen = probe(tmp_path, "attention", task="retrieve", steps=10)
    assert seen["status"] == "completed"
    assert seen["figures"] > 0
    assert not seen["dynamo"], "a torch.optim optimizer (or something else) imported torch._dynamo"
    assert not seen["pyplot"]


@pytest.mark.slow
def test_optimize_quick_imports_no_dynamo_and_no_pyplot(tmp_path):
    seen = probe(tmp_path, "optimize")
    assert seen["status"] == "completed" and seen["figures"] > 0
    assert not seen["dynamo"]
    assert not seen["pyplot"]


@pytest.mark.slow
def test_train_mnist_quick_imports_no_dynamo_and_no_pyplot(tmp_path):
    seen = probe(tmp_path, "train-mnist", train_samples=500, val_samples=500, test_samples=500)
    assert seen["status"] == "completed" and seen["figures"] > 0
    assert not seen["dynamo"], "a torch.optim optimizer (or something else) imported torch._dynamo"
    assert not seen["pyplot"]


@pytest.mark.slow
def test_approx_fit_train_imports_no_dynamo(tmp_path):
    seen = probe(tmp_path, "approx", fit="train", dims=[1], steps=20)
    assert seen["status"] == "completed" and seen["figures"] > 0
    assert not seen["dynamo"], "a torch.optim optimizer (or something else) imported torch._dynamo"


def test_a_figure_is_written_without_pyplot(tmp_path):
    code = (f"import sys; from nnlab.core import plotting; fig, axes = plotting.subplots(1, 2, figsize=(4, 2), "
            f"sharey=True); axes[0, 0].plot([0, 1], [1, 0]); plotting.save(fig, {str(tmp_path / 'f.png')!r}); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

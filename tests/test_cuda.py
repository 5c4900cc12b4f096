"""The CUDA path of train-mnist (resident data, channels_last, bf16 or fp16 autocast, loss scaling), run
where torch sees a GPU and skipped elsewhere. A session lent a GPU runs them first, with the GPU
benchmarks, in one call: `bash benchmarks/gpu_session.sh`."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def amp_modes() -> list[str]:
    """fp16 (with loss scaling) and float32 everywhere; bf16 where the GPU has it."""
    return ["fp16", "off", *(["bf16"] if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else [])]


@pytest.mark.parametrize("amp", amp_modes())
def test_a_quick_run_trains_on_the_gpu(invoke, amp):
    result = invoke("train-mnist", "--quick", "--device", "cuda", "--amp", amp)
    assert result.exit_code == 0, result.stderr
    summary = result.summary("train-mnist")
    # --quick on the CPU: 93.4% on its 1,000 test images; mixed precision must not cost the lecture's bar
    assert summary["device"] == "cuda" and summary["status"] == "completed"
    assert summary["test/acc"] >= 0.9, summary["test/acc"]
    (run,) = result.runs("train-mnist")
    assert json.loads((run / "meta.json").read_text())["device"].startswith("cuda (")
    assert (run / "plots" / "learning_curves.png").is_file()


def test_a_gpu_run_resumes(invoke, tmp_path):
    first = invoke("train-mnist", "--quick", "--device", "cuda", "--set", "target_acc=null")
    assert first.exit_code == 0, first.stderr
    (run,) = first.runs("train-mnist")
    resumed = invoke("train-mnist", "--resume", str(run), "--epochs", "2")
    assert resumed.exit_code == 0, resumed.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["status"] == "completed"
    assert [h["epoch"] for h in summary["history"]] == [1, 2]


def test_gpu_evaluation_agrees_with_the_cpu():
    """The same weights give nearly the same predictions in "float32" on both devices. cuDNN runs float32
    convolutions in TF32 by default on Ampere and later GPUs (10-bit mantissas: ~1e-3 relative error), so the
    loss agrees to 1e-2 relative and a near-tie may flip a prediction."""
    from nnlab.commands.train_mnist.config import TrainMnistConfig
    from nnlab.commands.train_mnist.model import build_model
    from nnlab.commands.train_mnist.training import evaluate

    torch.manual_seed(0)
    model = build_model(TrainMnistConfig()).to(memory_format=torch.channels_last)
    x = torch.randn(600, 1, 28, 28)
    y = torch.randint(0, 10, (600,))
    model.eval()
    cpu_loss, cpu_acc, cpu_pred, _ = evaluate(model, x, y, None, torch.channels_last)
    gpu = model.to("cuda")
    gpu_loss, gpu_acc, gpu_pred, _ = evaluate(gpu, x.cuda(), y.cuda(), None, torch.channels_last)
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-2)
    assert (gpu_pred.cpu() == cpu_pred).float().mean() >= 0.98
    assert gpu_acc == pytest.approx(cpu_acc, abs=0.02)

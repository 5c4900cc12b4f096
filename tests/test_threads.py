"""One thread limiter (core.device.thread_limit), applied by the runner with one meaning of `threads`."""

from __future__ import annotations

import pytest

from nnlab.core import device

pytestmark = pytest.mark.threads  # these tests are about threads: they see the machine's cores


def test_the_limiter_sets_torch_and_blas_and_restores_them():
    import torch

    torch.set_num_threads(2)
    before = device.current_threads()
    with device.thread_limit(1):
        inside = device.current_threads()
        assert inside["torch"] == 1 and inside["numpy_blas"] in (1, None)  # None: no OpenBLAS reachable
    assert device.current_threads() == before


def test_zero_means_every_core_and_none_leaves_them(monkeypatch):
    import torch

    torch.set_num_threads(1)
    monkeypatch.setattr(device, "available_cores", lambda: 2)
    with device.thread_limit(0):
        assert torch.get_num_threads() == 2
    with device.thread_limit(None):
        assert torch.get_num_threads() == 1


@pytest.mark.parametrize(("given", "expected"), [("1", 1), ("2", 2), ("0", 2)])
def test_the_runner_runs_a_command_at_its_threads_key(patch_command, tmp_path, monkeypatch, given, expected):
    """backprop's `threads` key reaches torch inside its run: 0 is every core (here: 2), as for every command."""
    import torch

    from nnlab.core.claims import claim
    from nnlab.core.runner import Request, execute

    monkeypatch.setattr(device, "available_cores", lambda: 2)
    torch.set_num_threads(1)
    seen = {}

    def run(config, rec):
        seen.update(device.current_threads())
        return {"claims": [claim("backprop.fake", "t", 1, "> 0", True, zh="假")]}

    patch_command("backprop", run=run, headline=lambda s: (["x"], [[1]]), numbers=lambda s: {})
    request = Request("backprop", {"threads": given, "train": "false"}, quick=True, out=tmp_path, draw=False)
    execute(request, report=False)
    assert seen["torch"] == expected and seen["numpy_blas"] in (expected, None)
    assert torch.get_num_threads() == 1  # restored after the run

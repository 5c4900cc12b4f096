"""FlatRule (the lecture's rules on a model's parameters) against torch.optim, float64, same gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from nnlab.nn.param_rules import FlatRule, lecture_adam  # noqa: E402


def model_pair(seed: int = 0):
    torch.manual_seed(seed)
    a = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()
    b = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()
    b.load_state_dict(a.state_dict())
    return a, b


def train(model, opt, steps: int = 25) -> list[float]:
    gen = torch.Generator().manual_seed(1)
    losses = []
    for k in range(steps):
        opt.param_groups[0]["lr"] = 0.05 * (1 + k % 3)  # a schedule, as the experiments set it
        x = torch.randn(16, 5, generator=gen, dtype=torch.float64)
        y = torch.randn(16, 3, generator=gen, dtype=torch.float64)
        loss = (model(x) - y).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize("case", ["adamw", "nesterov", "heavy_ball", "sgd"])
def test_flat_rule_matches_torch_optim(case):
    ours, theirs = model_pair()
    if case == "adamw":  # eps = 0 on both sides: sqrt(s) + 0 == sqrt(s + 0)
        mine = FlatRule(ours.parameters(), "adam", lr=0.05, weight_decay=0.1, decoupled=True, beta1=0.8, beta2=0.99,
                        eps=0.0)
        ref = torch.optim.AdamW(theirs.parameters(), lr=0.05, betas=(0.8, 0.99), eps=0.0, weight_decay=0.1)
    elif case == "nesterov":
        mine = FlatRule(ours.parameters(), "nesterov", lr=0.05, weight_decay=1e-3, beta=0.9)
        ref = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    elif case == "heavy_ball":
        mine = FlatRule(ours.parameters(), "heavy_ball", lr=0.05, beta=0.9)
        ref = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    else:
        mine = FlatRule(ours.parameters(), "sgd", lr=0.05, weight_decay=1e-3)
        ref = torch.optim.SGD(theirs.parameters(), lr=0.05, weight_decay=1e-3)
    if case in ("nesterov", "heavy_ball"):
        # torch's momentum buffer absorbs a changing lr differently from x_k - x_{k-1}: compare at a fixed lr
        for opt in (mine, ref):
            opt.param_groups[0]["lr"] = 0.05
        train_fixed = [train_const(ours, mine), train_const(theirs, ref)]
        assert train_fixed[0] == pytest.approx(train_fixed[1], rel=1e-9, abs=1e-12)
    else:
        assert train(ours, mine) == pytest.approx(train(theirs, ref), rel=1e-9, abs=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-12)


def train_const(model, opt, steps: int = 25) -> list[float]:
    gen = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        x = torch.randn(16, 5, generator=gen, dtype=torch.float64)
        y = torch.randn(16, 3, generator=gen, dtype=torch.float64)
        loss = (model(x) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_flat_rule_state_round_trip_continues_identically():
    a, b = model_pair()
    opt_a = FlatRule(a.parameters(), "adam", lr=0.01)
    train(a, opt_a, steps=5)
    b.load_state_dict(a.state_dict())
    opt_b = FlatRule(b.parameters(), "adam", lr=0.01)
    opt_b.load_state_dict(opt_a.state_dict())
    assert train(a, opt_a, steps=5) == train(b, opt_b, steps=5)


def test_flat_rule_does_not_import_dynamo_and_torch_optim_does():
    """The reason FlatRule exists (nnlab.nn.param_rules); `-k dynamo -s` prints what torch.optim costs here."""
    import subprocess
    import sys

    code = ("import sys, time, torch; from nnlab.nn.param_rules import FlatRule; m = torch.nn.Linear(3, 2); "
            "o = FlatRule(m.parameters(), 'adam', lr=0.1); m(torch.ones(1, 3)).sum().backward(); o.step(); "
            "before = 'torch._dynamo' in sys.modules; t = time.perf_counter(); "
            "torch.optim.SGD(m.parameters(), lr=0.1); "
            "print(before, 'torch._dynamo' in sys.modules, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    flat_rule_imported, torch_optim_imported, seconds = out.split()
    assert flat_rule_imported == "False"
    assert torch_optim_imported == "True", "torch.optim no longer imports torch._dynamo: FlatRule's reason is gone"
    print(f"constructing the first torch.optim optimizer: {float(seconds):.2f} s (torch._dynamo imported)")


def fixed_gradients(shapes, steps: int, seed: int = 3):
    """steps lists of float64 gradients, |g| in [0.5, 1.5]: far from 0, where eps's place would matter."""
    gen = torch.Generator().manual_seed(seed)
    return [[(torch.rand(s, generator=gen, dtype=torch.float64) + 0.5)
             * torch.randint(0, 2, s, generator=gen).mul(2).sub(1) for s in shapes] for _ in range(steps)]


@pytest.mark.parametrize("decoupled", [False, True], ids=["adam", "adamw"])
@pytest.mark.parametrize("torch_eps, tol", [
    # eps = 0 in torch: the lecture's 1e-16 inside the root moves a step by lr |v| 1e-16 / (2 s^1.5) < 1e-17, so
    # the rule itself (bias correction, weight decay) must agree to float64 rounding
    (0.0, 1e-12),
    # torch's default 1e-8 outside the root: the denominators differ by at most eps, a step by at most
    # lr eps |v| / s <= 0.01 1e-8 1.53 / 0.47^2 < 7e-10 (|x| < 2.2, so |g + 0.01 x| in [0.47, 1.53]); 6 steps
    (1e-8, 4.2e-9),
], ids=["torch-eps-0", "torch-default-eps"])
def test_lecture_adam_matches_torch_optim_adam_and_adamw(decoupled, torch_eps, tol):
    torch.manual_seed(0)
    ours = [torch.randn(3, 4, dtype=torch.float64, requires_grad=True),
            torch.randn(5, dtype=torch.float64, requires_grad=True)]
    theirs = [p.detach().clone().requires_grad_(True) for p in ours]
    assert max(float(p.detach().abs().max()) for p in ours) < 2.2  # the bound on the gradients below
    hyper = {"lr": 0.01, "weight_decay": 0.01}
    mine = lecture_adam(ours, **hyper, decoupled=decoupled, beta1=0.8, beta2=0.99)
    ref = (torch.optim.AdamW if decoupled else torch.optim.Adam)(theirs, **hyper, betas=(0.8, 0.99), eps=torch_eps)
    for grads in fixed_gradients([p.shape for p in ours], steps=6):
        for params, opt in ((ours, mine), (theirs, ref)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            opt.step()
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=tol)


def test_flat_rule_keeps_channels_last_and_matches_torch_optim():
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    a = a.double().to(memory_format=torch.channels_last)
    b = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    b = b.double().to(memory_format=torch.channels_last)
    b.load_state_dict(a.state_dict())
    mine = FlatRule(a.parameters(), "nesterov", lr=0.05, weight_decay=1e-3, beta=0.9)
    ref = torch.optim.SGD(b.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    assert a[0].weight.is_contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(2)
    for _ in range(10):
        x = torch.randn(5, 2, 6, 6, generator=gen, dtype=torch.float64).to(memory_format=torch.channels_last)
        for model, opt in ((a, mine), (b, ref)):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-12)
    assert a[0].weight.is_contiguous(memory_format=torch.channels_last)

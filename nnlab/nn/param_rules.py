"""The lecture's update rules (nnlab.nn.optimizers) applied to a torch model's parameters.

Why not torch.optim: constructing any torch.optim optimizer imports torch._dynamo (its methods are
wrapped by torch._disable_dynamo), seconds of CPU on every run that trains; measure it on this machine with
`python -m pytest tests/test_nn_param_rules.py -k dynamo -s`. The rules in
nnlab.nn.optimizers are the slides' formulas, checked against torch.optim in tests/test_nn_optimizers.py;
here they run on the model's parameters with the small part of torch.optim's interface nnlab uses
(param_groups[0]["lr"] for schedules, zero_grad, step, state_dict, load_state_dict).

Every parameter becomes a view (with its own strides, so channels_last stays channels_last) into one
flat vector x (n_params,), and its gradient is copied into the same place of one flat g each step, so
one step is the rule applied once to (x, g): a handful of elementwise ops, whatever the number of layers.

Weight decay: `decoupled=True` is AdamW's (x <- x (1 - lr wd) before the rule), `decoupled=False` adds
wd x to the gradient (torch.optim.SGD's weight_decay).

Nesterov evaluates the gradient at y_k = x_k + beta (x_k - x_{k-1}), so here the parameters hold y_k
(backprop gives grad f(y_k)) and the state holds the lecture's x_k; torch.optim.SGD(nesterov=True) makes
the same choice (see nnlab.nn.optimizers).
"""

from __future__ import annotations

from typing import Any

from nnlab.nn import optimizers

# torch.optim's default eps, moved inside the square root where the lecture puts it: torch divides by
# sqrt(s) + eps, the lecture by sqrt(s + eps^2); both are eps where s = 0 and sqrt(s) where s >> eps^2 (they differ
# by at most eps), so a step is torch.optim's to a relative eps / sqrt(s) (tests/test_nn_param_rules.py).
# torch's defaults: 1e-10 for AdaGrad, 1e-8 for RMSprop and Adam.
TORCH_DEFAULT_EPS_INSIDE_ROOT = {"adagrad": 1e-20, "rmsprop": 1e-16, "adam": 1e-16}


def lecture_adam(params, lr: float, *, weight_decay: float = 0.0, decoupled: bool = False, beta1: float = 0.9,
                 beta2: float = 0.999) -> FlatRule:
    """The lecture's Adam on torch parameters, as torch.optim.Adam (decoupled=False) or AdamW (decoupled=True)
    runs it with its default eps (TORCH_DEFAULT_EPS_INSIDE_ROOT), without importing torch.optim (module docstring).
    """
    return FlatRule(params, "adam", lr=lr, weight_decay=weight_decay, decoupled=decoupled, beta1=beta1, beta2=beta2,
                    eps=TORCH_DEFAULT_EPS_INSIDE_ROOT["adam"])


class FlatRule:
    """`rule` (a name in nnlab.nn.optimizers.RULES) on `params`, in place; hyper as the rule takes them."""

    def __init__(self, params, rule: str, *, lr: float, weight_decay: float = 0.0, decoupled: bool = False,
                 **hyper: Any) -> None:
        import torch

        if rule not in optimizers.RULES:
            raise ValueError(f"unknown rule {rule!r}; rules: {', '.join(optimizers.NAMES)}")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("no parameters to optimize")
        first = self.params[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in self.params):
            raise ValueError("FlatRule needs every parameter on one device with one dtype")
        self.rule, self.hyper = rule, hyper
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.state: dict[str, Any] = {}
        total = sum(p.numel() for p in self.params)
        self.x = torch.empty(total, dtype=first.dtype, device=first.device)  # (n_params,) the parameters
        self.g = torch.empty_like(self.x)  # (n_params,) their gradients, gathered each step
        self.grad_views = []
        offset = 0
        with torch.no_grad():
            for p in self.params:
                n = p.numel()
                if not dense(p):
                    raise ValueError(f"FlatRule needs dense parameters, got strides {p.stride()} for {tuple(p.shape)}")
                # a view with the parameter's own strides: a layout the model chose (channels_last) is kept
                view = self.x[offset:offset + n].as_strided(p.shape, p.stride())
                view.copy_(p)
                p.data = view
                self.grad_views.append(self.g[offset:offset + n].as_strided(p.shape, p.stride()))
                offset += n
        self.param_groups = [{"lr": lr, "params": self.params}]  # torch.optim's shape (GradScaler reads params)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        lr = self.param_groups[0]["lr"]
        with torch.no_grad():
            for p, view in zip(self.params, self.grad_views, strict=True):
                if p.grad is None:
                    view.zero_()
                else:
                    view.copy_(p.grad)
            grad = self.g
            if self.weight_decay:
                if self.decoupled:
                    self.x.mul_(1 - lr * self.weight_decay)
                else:
                    grad = grad + self.weight_decay * self.x
            if self.rule == "nesterov":
                # parameters hold y_k; the state the lecture's x_k ("x") and x_{k-1} ("prev")
                x = self.state.get("x", self.x.clone())  # x_0 = y_0: no velocity yet
                x_next, inner = optimizers.nesterov(x, grad, {"prev": self.state.get("prev", x)}, lr=lr,
                                                    **self.hyper)
                y_next = optimizers.nesterov_point(x_next, inner, **self.hyper)
                self.state = {"x": x_next, "prev": inner["prev"]}
                self.x.copy_(y_next)
            else:
                # heavy_ball keeps x_k in its state: give it a copy, since self.x is overwritten below
                x = self.x.clone() if self.rule == "heavy_ball" else self.x
                x_next, self.state = optimizers.RULES[self.rule](x, grad, self.state, lr=lr, **self.hyper)
                self.x.copy_(x_next)

    def state_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "lr": self.param_groups[0]["lr"],
                "state": {k: v.clone() if hasattr(v, "clone") else v for k, v in self.state.items()}}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        if saved.get("rule") != self.rule:
            raise ValueError(f"saved state is for rule {saved.get('rule')!r}, not {self.rule!r}")
        self.param_groups[0]["lr"] = saved["lr"]
        self.state = {k: v.to(self.x.device) if hasattr(v, "to") else v for k, v in saved["state"].items()}


def dense(t) -> bool:
    """True when `t` covers its numel() elements of memory exactly once (any order of the dimensions)."""
    expected = 1
    for size, stride in sorted(zip(t.shape, t.stride(), strict=True), key=lambda d: d[1]):
        if size == 1:
            continue
        if stride != expected:
            return False
        expected *= size
    return True

"""The two-layer networks of nnlab/nn/approximation.py with every layer trained (`fit="train"`, and the
learned-features comparison): Adam, full batch, on all seeds and targets at once. The convex route there fixes
the hidden layer at random and solves for the outer one; this one learns both, to set against it."""

from __future__ import annotations

from nnlab.nn import activations


def train_width(act: activations.Activation, x, y, w0, b0, steps: int, lr: float, check_stop=lambda: None):
    """Adam on every layer of S * T width-D networks at once (one per seed and target), full batch, float32.

    x (S, n, d), y (S, n, T), start (w0 (S, d, D), b0 (S, D)) shared by a seed's T networks; W2 starts at
    0 and b2 at the mean of y. Loss: the sum over networks of each one's MSE, so every network gets its
    own gradient (Adam is elementwise, hence independent per network). Returns predict(x (S, m, d))
    -> (S, m, 1, T). Deterministic given its inputs: nothing here draws random numbers. Runs on the
    caller's torch thread count (the caller knows the machine; see nnlab/commands/approx). `check_stop()` is
    called before every step, so a Ctrl-C (which makes it raise) stops a long training within one step.
    """
    import torch

    from nnlab.nn.param_rules import lecture_adam

    out_dtype = x.dtype
    # float32: Adam's own noise is far above float32 rounding, and it is 2-3x faster on CPU.
    x, y, w0, b0 = (t.to(torch.float32) for t in (x, y, w0, b0))
    S, n, T = y.shape
    D = w0.shape[-1]
    w1 = w0[:, None].expand(S, T, *w0.shape[1:]).reshape(S * T, -1, D).clone().requires_grad_(True)
    b1 = b0[:, None].expand(S, T, D).reshape(S * T, D).clone().requires_grad_(True)
    w2 = torch.zeros(S * T, D, 1, dtype=x.dtype, device=x.device, requires_grad=True)
    b2 = y.mean(dim=1).reshape(S * T, 1, 1).clone().requires_grad_(True)
    xs = x[:, None].expand(S, T, n, x.shape[-1]).reshape(S * T, n, -1)  # (S T, n, d)
    ys = y.permute(0, 2, 1).reshape(S * T, n, 1)

    def forward(inputs):
        return act.torch_fn(torch.baddbmm(b1[:, None, :], inputs, w1)) @ w2 + b2  # (S T, m, 1)

    opt = lecture_adam([w1, b1, w2, b2], lr=lr)
    for _ in range(steps):
        check_stop()
        opt.zero_grad(set_to_none=True)
        loss = (forward(xs) - ys).square().mean(dim=(1, 2)).sum()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def predict_trained(inputs):
        m = inputs.shape[1]
        inputs = inputs.to(torch.float32)
        out = forward(inputs[:, None].expand(S, T, m, inputs.shape[-1]).reshape(S * T, m, -1))
        return out.reshape(S, T, m).permute(0, 2, 1)[:, :, None, :].to(out_dtype)

    return predict_trained

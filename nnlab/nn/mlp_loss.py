"""The `mlp` problem of `nnlab optimize`: a 784-H-10 tanh network on MNIST whose parameters are one flat
tensor theta, so that the update rules of nnlab/nn/optimizers.py apply to it unchanged; its loss, and two
sharpness measures of a point theta (the top Hessian eigenvalue, the loss rise under random perturbations).

    theta = [W1 (n_in, H) | b1 (H,) | W2 (H, C) | b2 (C,)], flattened and packed in this order
    J(theta) = mean_i cross_entropy(tanh(X_i W1 + b1) W2 + b2, y_i)

Batched forms for many runs at once (`nnlab optimize` trains its methods and minibatch orders in lockstep):
thetas (R, P) holds one parameter vector a row; `mlp_losses` evaluates every row on one shared data set in a
single (n, k) @ (k, R H) product, `mlp_batch_losses` every row on its own minibatch (R, B, k) by bmm. Both take
`cols`, the input columns kept: a pixel that is 0 in every image contributes exactly 0 to X W1 (and gets an
exactly 0 gradient), so dropping it (X[:, cols], W1[cols]) changes only the summation order. Their pieces
(hidden_*, head, cross_entropies) are autograd-friendly; `backward` is their closed-form gradient, for training
without autograd's overhead. The power iteration and the perturbation probe have batched forms too
(`top_eigenvalues`, `perturbations`).
"""

from __future__ import annotations

import math


def mlp_shapes(n_in: int, hidden: int, classes: int = 10) -> list[tuple[int, ...]]:
    """Shapes of W1 (n_in, H), b1 (H,), W2 (H, C), b2 (C,), packed in this order into theta."""
    return [(n_in, hidden), (hidden,), (hidden, classes), (classes,)]


def mlp_unpack(theta, shapes: list[tuple[int, ...]]) -> list:
    out, i = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(theta[i:i + n].reshape(shape))
        i += n
    return out


def mlp_unpack_many(thetas, shapes: list[tuple[int, ...]]) -> list:
    """thetas (R, P) -> [W1 (R, n_in, H), b1 (R, H), W2 (R, H, C), b2 (R, C)], views of the rows."""
    out, i = [], 0
    for shape in shapes:
        n = math.prod(shape)
        out.append(thetas[:, i:i + n].reshape(len(thetas), *shape))
        i += n
    return out


def bound_loss(thetas, shapes, x_l1: float, classes: int = 10):
    """An upper bound on J(theta_r) for every row, from theta alone: (R,); inf where the forward pass might not
    be finite. |tanh| <= 1 makes every logit |z_c| <= ||W2[:, c]||_1 + |b2_c| =: m_c, and cross entropy
    <= max_c z_c - z_y + log C <= 2 max_c m_c + log C. The pre-activations |X_i W1 + b1| <= x_l1 max|W1| + max|b1|
    (x_l1 >= every ||X_i||_1) must stay far below float32's 3.4e38, or X W1 could hold inf - inf = NaN."""
    import torch

    W1, b1, W2, b2 = mlp_unpack_many(thetas, shapes)
    bound = 2 * (W2.abs().sum(1) + b2.abs()).amax(1) + math.log(classes)
    z1 = x_l1 * W1.abs().flatten(1).amax(1) + b1.abs().amax(1)
    return torch.where(z1 < 1e30, bound, math.inf)  # NaN anywhere: NaN bound or z1 < 1e30 false


def mlp_init(shapes: list[tuple[int, ...]], generator, dtype, device):
    """W ~ N(0, 1 / n_in) (Xavier-like for tanh), b = 0, packed into one flat tensor."""
    import torch

    parts = []
    for shape in shapes:
        if len(shape) == 2:
            parts.append(torch.randn(shape, generator=generator, dtype=dtype, device=device).flatten()
                         / math.sqrt(shape[0]))
        else:
            parts.append(torch.zeros(shape, dtype=dtype, device=device))
    return torch.cat(parts)


def mlp_loss(theta, shapes, X, y):
    """J(theta) = mean_i cross_entropy(tanh(X_i W1 + b1) W2 + b2, y_i).  X: (n, n_in), y: (n,) int."""
    import torch.nn.functional as F

    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return F.cross_entropy((X @ W1 + b1).tanh() @ W2 + b2, y)


def mlp_logits(theta, shapes, X):
    W1, b1, W2, b2 = mlp_unpack(theta, shapes)
    return (X @ W1 + b1).tanh() @ W2 + b2


def cross_entropies(Z2, y):
    """Z2 (R, B, C) logits, y (R, B) labels -> (R,) mean cross entropy of each run: logsumexp_c z_c - z_y
    (measured 3x faster than F.cross_entropy(reduction="none") on (R B, 10); the same value to float32 round-off)."""
    import torch

    return (torch.logsumexp(Z2, 2) - Z2.gather(2, y[..., None]).squeeze(2)).mean(1)


def hidden_shared(thetas, shapes, X, cols=None):
    """Pre-activations Z1 (R, n, H) = X W1_r + b1_r of every row on one shared X (n, k): X[:, cols] of the full
    inputs when cols (k indices into n_in) is given, else all n_in columns. One (n, k) @ (k, R H) product for every
    run: wider, so cheaper a run than R products of (k, H)."""
    import torch

    W1, b1, _, _ = mlp_unpack_many(thetas, shapes)
    W1 = W1.transpose(0, 1)                                     # (n_in, R, H)
    W1 = W1 if cols is None else W1.index_select(0, cols)       # (k, R, H), one copy either way below
    k, R, H = W1.shape
    Z1 = torch.addmm(b1.reshape(R * H), X, W1.reshape(k, R * H))  # (n, R H), run r's columns
    return Z1.view(len(X), R, H).transpose(0, 1).contiguous()   # (R, n, H): contiguous makes the bmm after 3x faster


def hidden_batch(thetas, shapes, Xb, cols=None):
    """Pre-activations Z1 (R, B, H) of every row on its own minibatch Xb (R, B, k) (columns cols, as above)."""
    import torch

    W1, b1, _, _ = mlp_unpack_many(thetas, shapes)
    return torch.baddbmm(b1[:, None], Xb, W1 if cols is None else W1.index_select(1, cols))


def head(Z1, thetas, shapes):
    """From pre-activations Z1 (R, B, H): the hidden units T = tanh Z1 and the logits Z2 = T W2 + b2 (R, B, C)."""
    import torch

    _, _, W2, b2 = mlp_unpack_many(thetas, shapes)
    T = Z1.tanh()
    return T, torch.baddbmm(b2[:, None], T, W2)


def mlp_losses(thetas, shapes, X, y, cols=None):
    """J(theta_r) on the whole of (X, y) for every row r: (R,). X (n, k) shared (see hidden_shared), y (n,) int."""
    Z2 = head(hidden_shared(thetas, shapes, X, cols), thetas, shapes)[1]
    return cross_entropies(Z2, y.expand(len(thetas), len(y)))


def mlp_batch_losses(thetas, shapes, Xb, yb, cols=None):
    """J(theta_r) on run r's own minibatch for every row r: (R,). Xb (R, B, k) (see hidden_batch), yb (R, B) int."""
    return cross_entropies(head(hidden_batch(thetas, shapes, Xb, cols), thetas, shapes)[1], yb)


def backward(thetas, shapes, X, y, T, Z2, cols=None):
    """Closed-form backprop of each row's mean cross entropy, from head's T and Z2 (R, B, ...): the gradients
    (R, P) and dJ/dZ1 (R, B, H). X: the shared (B, k) or the per-row (R, B, k) inputs the forward pass used;
    y (R, B). dZ2 = (softmax Z2 - onehot y) / B, dW2 = T^T dZ2, dZ1 = dZ2 W2^T (1 - T^2), dW1 = X^T dZ1; the rows
    of W1 outside cols get exactly 0 (their inputs are 0). Checked against autograd in tests."""
    import torch

    R, B, _ = Z2.shape
    W1, _, W2, _ = mlp_unpack_many(thetas, shapes)
    dZ2 = (Z2 - torch.logsumexp(Z2, 2, keepdim=True)).exp_()
    dZ2.scatter_add_(2, y[..., None], torch.full((R, B, 1), -1.0, dtype=Z2.dtype, device=Z2.device)).div_(B)
    dZ1 = torch.bmm(dZ2, W2.transpose(1, 2)).mul_(1 - T * T)                    # (R, B, H)
    if X.dim() == 2:  # shared inputs: one (k, B) @ (B, R H) product
        H = dZ1.shape[2]
        dW1 = (X.T @ dZ1.transpose(0, 1).reshape(B, R * H)).view(-1, R, H).transpose(0, 1)
    else:
        dW1 = torch.bmm(X.transpose(1, 2), dZ1)                                 # (R, k, H)
    if cols is not None:
        dW1 = torch.zeros_like(W1).index_copy_(1, cols, dW1)
    parts = (dW1, dZ1.sum(1), torch.bmm(T.transpose(1, 2), dZ2), dZ2.sum(1))     # W1, b1, W2, b2
    return torch.cat([p.reshape(R, -1) for p in parts], 1), dZ1


def hvp(loss_fn, theta, v):
    """Hessian-vector product H(theta) v by double backward: grad_theta <grad_theta J(theta), v>."""
    import torch

    theta = theta.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, theta)
    return hv


def top_eigenvalue(loss_fn, theta, generator, iters: int = 30) -> float:
    """The Hessian's largest-magnitude eigenvalue by power iteration v <- Hv / ||Hv||; returns v^T H v."""
    import torch

    v = torch.randn(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
    v = v / v.norm()
    lam = 0.0
    for _ in range(iters):
        hv = hvp(loss_fn, theta, v)
        lam = float(v @ hv)
        v = hv / hv.norm()
    return lam


def top_eigenvalues(losses_fn, thetas, V, iters: int = 30) -> list[float]:
    """top_eigenvalue for every row at once: losses_fn(thetas (R, P)) -> (R,) independent losses, V (R, P) the
    start vectors. The runs do not interact, so grad of sum_r J_r is row r's gradient, and grad of
    sum_r <g_r, v_r> row r's Hessian-vector product H_r v_r."""
    import torch

    thetas = thetas.detach().requires_grad_(True)
    V = V / V.norm(dim=1, keepdim=True)
    (G,) = torch.autograd.grad(losses_fn(thetas).sum(), thetas, create_graph=True)  # (R, P)
    lam = torch.zeros(len(thetas), dtype=thetas.dtype)
    for _ in range(iters):
        (HV,) = torch.autograd.grad((G * V).sum(), thetas, retain_graph=True)
        lam = (V * HV).sum(1)
        V = HV / HV.norm(dim=1, keepdim=True)
    return lam.tolist()


def perturbations(theta, shapes, generator, rho: float = 0.05, draws: int = 10):
    """The `draws` random perturbations delta of perturbed_increase, as rows: (draws, P)."""
    import torch

    blocks = mlp_unpack(theta, shapes)
    rows = []
    for _ in range(draws):
        parts = []
        for b in blocks:
            u = torch.randn(b.shape, generator=generator, dtype=theta.dtype, device=theta.device)
            parts.append((rho * b.norm() * u / u.norm()).flatten())
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def perturbed_increase(loss_fn, theta, shapes, generator, rho: float = 0.05, draws: int = 10) -> float:
    """Mean of J(theta + delta) - J(theta) over random delta, each block of delta (W1, b1, W2, b2) of norm
    rho times that block's norm (a relative, scale-aware perturbation; zero blocks stay unperturbed)."""
    base = float(loss_fn(theta))
    rises = [float(loss_fn(theta + delta)) - base for delta in perturbations(theta, shapes, generator, rho, draws)]
    return sum(rises) / draws

"""Dropout read on a trained stack of `nnlab regularize`: the test-time network against the ensemble of
thinned networks, and E[dropout(h)] = h measured on the first hidden layer."""

from __future__ import annotations

from typing import Any

from nnlab.commands.regularize.stats import stats
from nnlab.nn import regularizers


def probabilities(out):
    """softmax over the classes of (K, B, C): computed on the (K, C, B) view, where the class axis is not the
    innermost one and the kernel vectorizes across rows (~15x faster for C = 10; round-off differs by ~1 ulp)."""
    return out.transpose(1, 2).softmax(1).transpose(1, 2)


def ensemble(sub: Any, X, Y, task: str, samples: int, gen) -> dict[str, Any]:
    """The deterministic network (no masks) against the mean of `samples` thinned networks, per replicate.

    mnist: the mean of the thinned networks' softmax probabilities; regression: of their outputs.
    """
    import torch

    K = len(sub.members)
    Xk = X.expand(K, *X.shape[1:]) if X.shape[0] == 1 else X[[m.replicate for m in sub.members]]
    Yk = Y.expand(K, *Y.shape[1:]) if Y.shape[0] == 1 else Y[[m.replicate for m in sub.members]]
    det, mc, one = [], [], []
    with torch.no_grad():
        for i in range(0, Xk.shape[1], 2000):
            h = sub.first(Xk[:, i:i + 2000])
            out = sub.rest(h)
            total = torch.zeros_like(out)
            first = None
            for _ in range(samples):
                o = sub.rest(h, gen)
                o = probabilities(o) if task == "classification" else o
                first = o if first is None else first
                total += o
            det.append(probabilities(out) if task == "classification" else out)
            mc.append(total / samples)
            one.append(first)
    det, mc, one = torch.cat(det, 1), torch.cat(mc, 1), torch.cat(one, 1)
    result: dict[str, Any] = {"samples": samples}
    if task == "classification":
        agree = (det.argmax(-1) == mc.argmax(-1)).double().mean(1)
        acc_det = (det.argmax(-1) == Yk).double().mean(1)
        acc_mc = (mc.argmax(-1) == Yk).double().mean(1)
        acc_one = (one.argmax(-1) == Yk).double().mean(1)
        result |= {"agreement": stats(agree.tolist()), "acc_deterministic": stats(acc_det.tolist()),
                   "acc_ensemble": stats(acc_mc.tolist()), "acc_one_thinned": stats(acc_one.tolist()),
                   "acc_diff": stats((acc_det - acc_mc).abs().tolist())}
    else:
        rel = (det - mc).square().mean((1, 2)).sqrt() / det.std(dim=(1, 2))
        rel_one = (det - one).square().mean((1, 2)).sqrt() / det.std(dim=(1, 2))
        result |= {"rel_rms_diff": stats(rel.tolist()), "rel_rms_diff_one_thinned": stats(rel_one.tolist())}
    return result


def expectation(sub: Any, X, samples: int, gen) -> dict[str, Any]:
    """E[dropout(h)] = h on the first hidden layer: z = sum(mean_S dropout(h) - h) / its standard error.

    For one entry Var[h U] = h^2 (1 - p) / p, so the sum's sample mean over S draws has standard error
    sqrt(sum h^2 (1 - p) / (p S)): |z| < Z_MAX (claims.py) unless the scaling is wrong (without 1/p the mean is p h).
    """
    import torch

    K = len(sub.members)
    Xk = X.expand(K, *X.shape[1:]) if X.shape[0] == 1 else X[[m.replicate for m in sub.members]]
    with torch.no_grad():
        h = sub.first(Xk).double()
        p = sub.keep.double()
        acc = torch.zeros_like(h)
        for _ in range(samples):
            acc += regularizers.dropout(h, p, gen)
        mean = acc / samples
        se = (h.square().sum((1, 2)) * (1 - p.view(-1)) / (p.view(-1) * samples)).sqrt()
        diff = (mean - h).sum((1, 2))
        # se = 0 only when nothing is random (p = 1, or h = 0 exactly): then diff is 0 too and z = 0 is the truth.
        # A NaN network gives a NaN se: z stays NaN (NaN > 0 is False, so a where(se > 0, ..., 0) would hide it).
        z = torch.where(se == 0, torch.zeros_like(diff), diff / se)
        rel = diff / h.abs().sum((1, 2)).clamp_min(1e-300)
    return {"samples": samples, "entries": int(h[0].numel()), "z": stats(z.tolist()),
            "standard_error": stats(se.tolist()), "relative_error": stats(rel.tolist()),
            "keep_prob": float(p.view(-1)[0])}

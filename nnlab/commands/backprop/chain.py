"""`nnlab backprop`, part 1: the chain rule node by node by the engine, checked against torch and finite
differences."""

from __future__ import annotations

import math
from typing import Any

from nnlab.core.claims import check, claim
from nnlab.nn import formula_graph, formulas

# FD: central differences with h = 1e-6 err by ~h^2 f''' + eps |f| / h, ~1e-9 relative for the slide; a kink
# errs by O(1).
TORCH_RTOL = 1e-9
FD_RTOL = 1e-6


def is_slide_function(program: formulas.Program) -> bool:
    """Whether the formula is the slide's r = [z (x^2 + y)]^2, however staged (checked at probe points)."""
    if program.variables != ["x", "y", "z"]:
        return False
    for p in ({"x": 0.3, "y": -1.7, "z": 2.9}, {"x": -1.1, "y": 0.4, "z": -0.6}, {"x": 2.0, "y": 0.5, "z": 1.5}):
        r = (p["z"] * (p["x"] ** 2 + p["y"])) ** 2
        if not math.isclose(formula_graph.value_at(program, p), r, rel_tol=1e-12):
            return False
    return True


def slide_closed_form(p: dict[str, float]) -> tuple[float, dict[str, float]]:
    """r = z^2 (x^2 + y)^2: dr/dx = 4 x z^2 (x^2 + y), dr/dy = 2 z^2 (x^2 + y), dr/dz = 2 z (x^2 + y)^2."""
    x, y, z = p["x"], p["y"], p["z"]
    v = x * x + y
    return (z * v) ** 2, {"x": 4 * x * z * z * v, "y": 2 * z * z * v, "z": 2 * z * v * v}


def rel_diff(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def chain_rule(program: formulas.Program, point: dict[str, float], fd_step: float) -> dict[str, Any]:
    """The engine's forward and backward pass at `point`, torch's and finite differences' gradients."""
    from nnlab.nn.autograd import local_derivatives

    graph = formula_graph.build(program, point)
    by_id = {id(n.tensor): n.name for n in graph.nodes}
    nodes = []
    for n in graph.nodes:
        local = {by_id[k]: v for k, v in local_derivatives(n.tensor).items() if k in by_id}
        nodes.append({"name": n.name, "definition": n.definition, "parents": n.parents, "value": n.tensor.item(),
                      "adjoint": float(n.tensor.grad) if n.tensor.grad is not None else 0.0, "local": local})
    gradient = graph.gradient()
    t_value, t_grad = formula_graph.torch_gradient(program, point)
    fd = formula_graph.finite_differences(program, point, fd_step)
    scale = max([abs(g) for g in gradient.values()] + [abs(g) for g in fd.values()] + [1e-300])
    return {
        "expression": program.text, "output": graph.output.name, "variables": program.variables, "point": point,
        "value": graph.value, "gradient": gradient, "nodes": nodes,
        "torch": {"value": t_value, "gradient": t_grad},
        "finite_differences": {"gradient": fd, "step": fd_step},
        "differences": {
            "torch_max_rel": max([rel_diff(graph.value, t_value)] + [rel_diff(gradient[v], t_grad[v])
                                                                      for v in gradient]),
            # |fd_i - g_i| / max_j(|g_j|, |fd_j|): relative to the gradient's size, so a zero partial is fine
            "fd_max_rel": max(abs(fd[v] - gradient[v]) / scale for v in gradient),
        },
    }


def chain_claims(chain: dict[str, Any], slide: bool) -> list[dict[str, Any]]:
    out = chain["output"]
    records = []
    if slide:
        # A closed form: only a wrong engine could fail it, so a check, not a claim.
        value, grad = slide_closed_form(chain["point"])
        worst = max([rel_diff(chain["value"], value)] + [rel_diff(chain["gradient"][v], grad[v]) for v in grad])
        records.append(check("backprop.slide-gradient",
                             f"{out} = [z (x^2 + y)]^2 and its gradient equal the closed form "
                             "(4 x z^2 (x^2 + y), 2 z^2 (x^2 + y), 2 z (x^2 + y)^2)",
                             {"value": value, **grad, "max_rel_diff": worst}, "<= 1e-12 relative", worst <= 1e-12,
                             zh=f"{out} = [z (x² + y)]² 的值及其梯度都等于闭式解"
                                "（4 x z² (x² + y)，2 z² (x² + y)，2 z (x² + y)²）"))
    # The engine and torch implement the same derivative rules (including torch's subgradients): only a
    # bug separates them, at any formula and point, so this is a check of the engine, not a claim.
    d = chain["differences"]["torch_max_rel"]
    records.append(check("backprop.matches-torch", "the engine's value and gradient equal torch autograd's "
                         "(float64)", d, f"<= {TORCH_RTOL:g} relative", d <= TORCH_RTOL,
                         zh="引擎求得的函数值和梯度与 torch autograd 的结果相等（float64）"))
    # The user's verdict on their formula and point: the chain rule gives the derivative that finite
    # differences approximate wherever the formula is smooth there; a kink (relu(x) at x = 0: subgradient
    # 0, finite differences 0.5) or a step too small for float64 (--fd-step 1e-13) makes it fail.
    d = chain["differences"]["fd_max_rel"]
    records.append(claim("backprop.matches-finite-differences",
                         f"back-propagation's gradient of {out} at this point equals central finite "
                         f"differences (h = {chain['finite_differences']['step']:g} relative)",
                         d, f"<= {FD_RTOL:g} of the gradient's size", d <= FD_RTOL, source="nnlab",
                         why=f"finite differences differ from the chain rule by {d:.3g} of the gradient's size: a "
                             "kink of the formula at this point (a subgradient) or a step lost in rounding",
                         tip="--fd-step 1e-6, at a point where the formula is smooth",
                         zh=f"在该点，反向传播求得的 {out} 的梯度等于中心有限差分"
                            f"（相对步长 h = {chain['finite_differences']['step']:g}）",
                         why_zh=f"有限差分与链式法则相差梯度大小的 {d:.3g}：公式在该点有折点（只有次梯度），"
                                "或步长太小、在舍入中丢失"))
    return records


"""`nnlab backprop`, part 2: the lecture's cost claim measured on MLPs of growing size, and its verdicts.

The tolerances: a true O(N) claim measured backward slopes of 0.98-1.00 and ratio slopes of |0.01-0.05|
on a loaded 2-core machine; the recompute counter-example (keep nothing, recompute each layer's input)
gives backward slopes >= 1.3, ratio slopes >= 0.45 and a memory slope of 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.backprop.config import CLASSES
from nnlab.core.claims import check, claim

if TYPE_CHECKING:
    from nnlab.commands.backprop.config import BackpropConfig
    from nnlab.core.run import Run

RATIO_SLOPE_MAX = 0.15
BACKWARD_SLOPE = (0.8, 1.25)
MEMORY_SLOPE = (0.9, 1.1)
LECTURE = ("如果 f(x; θ) 的复杂度为 O(N), 那么计算 ∇θ f(x; θ) 的复杂度也为 O(N), 但是需要额外存储中间变量 "
           "(if f costs O(N), its gradient costs O(N) too, but the intermediates must be stored)")
LECTURE_ZH = "如果 f(x; θ) 的复杂度为 O(N), 那么计算 ∇θ f(x; θ) 的复杂度也为 O(N), 但是需要额外存储中间变量"


def measure_cost(config: BackpropConfig, rec: Run) -> dict[str, Any]:
    import numpy as np

    from nnlab.core.device import current_threads
    from nnlab.core.seeding import stream
    from nnlab.nn import backprop_cost as bc

    depths = sorted(config.cost_depths)
    w, b = config.cost_width, config.cost_batch
    x = stream(config.seed, "cost-input").standard_normal((b, w))
    y = stream(config.seed, "cost-labels").integers(0, CLASSES, b)
    libs = {be.name: be for be in bc.backends(config.cost_libraries)}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in libs}
    # torch and numpy's BLAS run at config.threads threads (1 by default; the runner sets them): on a shared
    # machine, BLAS threads waiting for each other's cores made a 50 x 784 x 100 product 200x slower.
    used_threads = current_threads()
    with np.errstate(all="ignore"):
        for i, depth in enumerate(rec.track(depths, "timing forward and backward")):
            weights = bc.init_weights(stream(config.seed, "cost-weights", depth), [w] * (depth + 1) + [CLASSES])
            for name, be in libs.items():
                row = {"depth": depth, "parameters": bc.parameter_count(w, depth, CLASSES),
                       **bc.measure_size(be, weights, x, y, config.cost_activation, config.cost_backward,
                                         config.repeats, config.warmup, config.min_sample_ms / 1000, config.clock)}
                rows[name].append(row)
                rec.log({"step": i, "section": "cost", "library": name, **row})
        agreement = None
        if len(libs) == 2:  # the smallest MLP's gradients, engine against torch
            weights = bc.init_weights(stream(config.seed, "cost-weights", depths[0]), [w] * (depths[0] + 1) + [CLASSES])
            grads = {}
            for name, be in libs.items():
                params = [(be.leaf(W, True), be.leaf(bias, True)) for W, bias in weights]
                bc.gradients(be, params, be.leaf(x, False), be.labels(y), config.cost_activation, config.cost_backward)
                grads[name] = [np.asarray(be.grad(t)) for pair in params for t in pair]
            agreement = max(float(np.max(np.abs(a - t)) / max(np.max(np.abs(t)), 1e-300))
                            for a, t in zip(grads["engine"], grads["torch"], strict=True))
    slopes = {}
    for name, lib_rows in rows.items():
        n = [r["parameters"] for r in lib_rows]
        slopes[name] = {
            "ratio": bc.loglog_slope(n, [r["ratio"] for r in lib_rows]),
            "backward": bc.loglog_slope(n, [r["backward_s"] for r in lib_rows]),
            "forward": bc.loglog_slope(n, [r["forward_s"] for r in lib_rows]),
            "memory": bc.loglog_slope(n, [r["kept_bytes"] for r in lib_rows]),
        }
    return {"width": w, "batch": b, "depths": depths, "backward_method": config.cost_backward,
            "activation": config.cost_activation, "clock": config.clock, "threads": used_threads,
            "repeats": config.repeats, "rows": rows, "slopes": slopes, "engine_vs_torch_max_rel": agreement}


def cost_claims(cost: dict[str, Any]) -> list[dict[str, Any]]:
    slopes = cost["slopes"]

    def each(key: str) -> dict[str, float | None]:
        """Slopes per library; None where a measured time was not positive (noise), which fails the claim."""
        return {name: None if s[key] is None else round(s[key], 3) for name, s in slopes.items()}

    method = cost["backward_method"]
    ratio, backward, memory = each("ratio"), each("backward"), each("memory")
    max_ratio = {n: round(max(r["ratio"] for r in rows), 2) for n, rows in cost["rows"].items()}
    ratio_ok = all(s is not None and abs(s) <= RATIO_SLOPE_MAX for s in ratio.values())
    backward_ok = all(s is not None and BACKWARD_SLOPE[0] <= s <= BACKWARD_SLOPE[1] for s in backward.values())
    # What the bytes kept must do follows from the method, not from a setting's luck: back-propagation keeps
    # every layer's values (slope 1 in N), recompute keeps none that grow with N (slope 0).
    memory_range = MEMORY_SLOPE if method == "reverse" else (-0.1, 0.1)
    records = [
        claim("backprop.cost-ratio-bounded",
              f"{LECTURE}: time(forward + backward) / time(forward) stays bounded as N grows "
              f"(log-log slope of the ratio against N; gradient by {method})",
              {"slope": ratio, "max_ratio": max_ratio},
              f"|slope| <= {RATIO_SLOPE_MAX} for each library", ratio_ok,
              why=f"the ratio's slope against N is {ratio} (ratios up to {max_ratio}): the gradient's cost grows "
                  "faster than the function's", tip="--cost-backward reverse (keep the intermediates)",
              zh=f"讲义：“{LECTURE_ZH}”：随 N 增大，时间(前向 + 反向) / 时间(前向) 保持有界"
                 f"（该比值对 N 的双对数斜率；梯度计算方式 {method}）",
              why_zh=f"该比值对 N 的斜率为 {ratio}（比值最大达 {max_ratio}）：梯度的代价比函数本身的代价增长得更快"),
        claim("backprop.cost-linear",
              f"the backward pass costs O(N): log-log slope of the backward time against N (gradient by {method})",
              backward, f"within {BACKWARD_SLOPE[0]}-{BACKWARD_SLOPE[1]} for each library", backward_ok,
              why=f"the backward time grows like N^{backward} rather than N^1",
              tip="--cost-backward reverse --clock cpu (CPU time is robust on a busy machine)",
              zh=f"反向传播的代价为 O(N)：反向时间对 N 的双对数斜率（梯度计算方式 {method}）",
              why_zh=f"反向传播的时间按 N^{backward} 增长，而不是按 N^1 线性增长"),
        check("backprop.memory-linear",
              "the bytes kept for the backward pass against N (log-log slope; engine: its graph's intermediate "
              "values, torch: saved_tensors_hooks), the lecture's 需要额外存储中间变量 measured: back-propagation "
              "keeps every layer's values by construction (slope 1), recompute keeps none that grow (slope 0); "
              f"gradient by {method}", memory, f"within {memory_range[0]}-{memory_range[1]} for each library",
              all(s is not None and memory_range[0] <= s <= memory_range[1] for s in memory.values()),
              zh="为反向传播保留的字节数对 N 的关系（双对数斜率；引擎：其计算图的中间值，torch：saved_tensors_hooks），"
                 "即讲义中“需要额外存储中间变量”的实测：反向传播按其构造保留每一层的值（斜率 1），"
                 f"重算则不保留任何随 N 增长的量（斜率 0）；梯度计算方式 {method}"),
    ]
    if cost["engine_vs_torch_max_rel"] is not None:
        d = cost["engine_vs_torch_max_rel"]
        records.append(check("backprop.mlp-matches-torch", "the smallest cost MLP's parameter gradients: engine "
                             "equals torch (float64)", d, "<= 1e-10 relative to the largest entry", d <= 1e-10,
                             zh="代价测量中最小的 MLP 的参数梯度：引擎与 torch 的结果相等（float64）"))
    return records

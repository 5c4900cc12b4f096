"""Figures of `nnlab backprop`, drawn from summary.json and metrics.jsonl alone (matplotlib, no Graphviz)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.core import plotting
from nnlab.core.plotting import drawn, label

CAPTIONS: dict[str, str] = {
    "graph.png": "The computational graph: forward values, adjoints and the local derivatives on the edges",
    "cost.png": "Forward and backward time, their ratio and the bytes kept, against the parameter count N",
    "train.png": "MNIST loss curves of the engine and of torch from the same start, and their difference",
}  # figure file -> caption (the report's)
CAPTIONS_ZH: dict[str, str] = {
    "graph.png": "计算图：前向的值、伴随值，以及边上的局部导数",
    "cost.png": "前向与反向传播的时间、二者之比，以及为反向传播保留的字节数，随参数量 N 的变化",
    "train.png": "引擎与 torch 从同一起点出发在 MNIST 上的损失曲线，以及二者之差",
}
# Latin names a Chinese figure keeps: the library torch (as its users write it) and the unit MiB.
TERMS = {"torch", "MiB"}
LIBRARY_ZH = {"engine": "引擎"}  # nnlab's own autograd engine; torch keeps its name
METHOD_ZH = {"reverse": "反向传播", "recompute": "重算"}  # --cost-backward

MAX_EDGE_LABELS = 40  # beyond this many nodes, edges carry no labels (they would overlap)


def _slope(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def parts(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Callable[[], Path]]:
    jobs = [partial(graph, summary, plots_dir / "graph.png")]
    if "cost" in summary:
        jobs.append(partial(cost, summary["cost"], plots_dir / "cost.png"))
    train_rows = [m for m in metrics if m.get("section") == "train"]
    if "train" in summary and train_rows:
        jobs.append(partial(training, summary["train"], train_rows, plots_dir / "train.png"))
    return jobs


def draw(summary: dict[str, Any], metrics: list[dict[str, Any]], plots_dir: Path) -> list[Path]:
    return drawn(parts(summary, metrics, plots_dir))


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def layout(nodes: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """x: an operation's level (longest path from a variable); a variable sits one level before its first
    use, as on the slide. y: spread evenly within a level, operations above variables."""
    level: dict[str, int] = {}
    variables = [n["name"] for n in nodes if n["definition"] == "variable"]
    for node in nodes:  # nodes come parents first
        if node["definition"] == "variable":
            level[node["name"]] = 0
        else:
            level[node["name"]] = 1 + max((level[p] for p in node["parents"] if p in level), default=0)
    for v in variables:
        uses = [level[n["name"]] for n in nodes if v in n["parents"]]
        level[v] = min(uses) - 1 if uses else 0
    columns: dict[int, list[str]] = {}
    for node in sorted(nodes, key=lambda n: n["definition"] == "variable"):
        columns.setdefault(level[node["name"]], []).append(node["name"])
    pos = {}
    for lv, names in columns.items():
        for i, name in enumerate(names):
            pos[name] = (float(lv), (len(names) - 1) / 2.0 - i)
    return pos


def graph(summary: dict[str, Any], path: Path) -> Path:
    """The computational graph: each node with its definition, forward value and adjoint; each edge with
    the local derivative d(child)/d(parent) that the chain rule multiplies along it."""
    nodes = summary["nodes"]
    out = summary["output"]
    pos = layout(nodes)
    levels = max(x for x, _ in pos.values()) + 1
    height = max(sum(1 for x, _ in pos.values() if x == lv) for lv in range(int(levels)))
    fig, axes = plotting.subplots(1, 1, figsize=(max(6.0, 2.6 * levels), max(3.2, 1.5 * height + 1.2)))
    ax = axes[0, 0]
    small = len(nodes) > MAX_EDGE_LABELS
    font = 6 if small else 8
    for node in nodes:
        x1, y1 = pos[node["name"]]
        for parent in dict.fromkeys(node["parents"]):
            x0, y0 = pos[parent]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops={"arrowstyle": "-|>", "color": "0.45", "shrinkA": 22, "shrinkB": 22, "lw": 1})
            if not small and parent in node["local"]:
                ax.text(0.5 * (x0 + x1), 0.5 * (y0 + y1) + 0.08, f"∂{node['name']}/∂{parent} = "
                        f"{_fmt(node['local'][parent])}", fontsize=font - 1, color="C3", ha="center",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    for node in nodes:
        x, y = pos[node["name"]]
        kind = "variable" if node["definition"] == "variable" else "operation"
        title = node["name"] if kind == "variable" else f"{node['name']} = {node['definition']}"
        adjoint = f"∂{out}/∂{node['name']} = {_fmt(node['adjoint'])}"
        value = _fmt(node["value"])
        text = label(f"{title}\nvalue {value}\n{adjoint}", f"{title}\n值 {value}\n{adjoint}")
        color = "#dbe9f6" if kind == "variable" else ("#fde2c8" if node["name"] == out else "#eeeeee")
        ax.text(x, y, text, ha="center", va="center", fontsize=font,
                bbox={"boxstyle": "round,pad=0.4", "fc": color, "ec": "0.3"})
    ax.set_xlim(-0.6, levels - 0.4)
    ys = [y for _, y in pos.values()]
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    grad = ", ".join(f"{k} {_fmt(v)}" for k, v in summary["gradient"].items())
    ax.set_title(label(f"{out} = {_fmt(summary['value'])};  gradient: {grad}\nforward: values left to right; "
                       f"backward: adjoints ∂{out}/∂node right to left (red: local derivatives)",
                       f"{out} = {_fmt(summary['value'])}；梯度：{grad}\n前向：值从左到右；"
                       f"反向：伴随值 ∂{out}/∂节点 从右到左（红色：局部导数）"), fontsize=9)
    return plotting.save(fig, path)


def cost(cost: dict[str, Any], path: Path) -> Path:
    """Times, their ratio and the kept bytes against the parameter count N, engine and torch, log-log."""
    fig, axes = plotting.subplots(1, 3, figsize=(14, 4.0))
    a_time, a_ratio, a_mem = axes[0]
    markers = {"engine": "o", "torch": "s"}
    for i, (lib, rows) in enumerate(cost["rows"].items()):
        n = [r["parameters"] for r in rows]
        s = cost["slopes"][lib]
        m = markers.get(lib, "^")
        zh = LIBRARY_ZH.get(lib, lib)
        a_time.plot(n, [r["forward_s"] for r in rows], m + "--", color=f"C{i}", mfc="none",
                    label=label(f"{lib} forward (slope {_slope(s['forward'])})",
                                f"{zh} 前向（斜率 {_slope(s['forward'])}）"))
        a_time.plot(n, [r["backward_s"] for r in rows], m + "-", color=f"C{i}",
                    label=label(f"{lib} backward (slope {_slope(s['backward'])})",
                                f"{zh} 反向（斜率 {_slope(s['backward'])}）"))
        a_ratio.plot(n, [r["ratio"] for r in rows], m + "-", color=f"C{i}",
                     label=label(f"{lib} (slope {_slope(s['ratio'])})", f"{zh}（斜率 {_slope(s['ratio'])}）"))
        a_mem.plot(n, [r["kept_bytes"] / 2**20 for r in rows], m + "-", color=f"C{i}",
                   label=label(f"{lib} (slope {_slope(s['memory'])})", f"{zh}（斜率 {_slope(s['memory'])}）"))
    clock = "CPU" if cost["clock"] == "cpu" else "wall-clock"
    clock_zh = "CPU 时间" if cost["clock"] == "cpu" else "墙钟时间"
    params = label("parameters N", "参数量 N")
    a_time.set(xscale="log", yscale="log", xlabel=params,
               ylabel=label(f"{clock} seconds (median)", f"{clock_zh}，秒（中位数）"),
               title=label("time of a pass", "一次计算的时间"))
    a_ratio.set(xscale="log", xlabel=params, ylabel=label("(forward + backward) / forward", "(前向 + 反向) / 前向"),
                title=label("gradient cost / function cost", "梯度的代价 / 函数的代价"))
    a_ratio.set_ylim(bottom=0)
    a_mem.set(xscale="log", yscale="log", xlabel=params, ylabel=label("MiB", "MiB"),
              title=label("kept for the backward pass", "为反向传播保留的量"))
    for ax in axes[0]:
        ax.legend(fontsize=7)
    method = cost["backward_method"]
    fig.suptitle(label(f"MLPs of width {cost['width']}, depth {cost['depths'][0]}-{cost['depths'][-1]}, batch "
                       f"{cost['batch']}; gradient by {method}",
                       f"MLP：宽度 {cost['width']}，深度 {cost['depths'][0]}-{cost['depths'][-1]}，批量 "
                       f"{cost['batch']}；梯度计算方式：{METHOD_ZH.get(method, method)}"), fontsize=10)
    return plotting.save(fig, path)


def training(train: dict[str, Any], rows: list[dict[str, Any]], path: Path) -> Path:
    """The two loss curves on MNIST, and their relative difference step by step."""
    fig, axes = plotting.subplots(1, 2, figsize=(11, 3.8))
    steps = [r["step"] for r in rows]
    le, lt = [r["loss_engine"] for r in rows], [r["loss_torch"] for r in rows]
    axes[0, 0].plot(steps, le, "-", color="C0", lw=2.5, alpha=0.6, label=label("engine", "引擎"))
    axes[0, 0].plot(steps, lt, "--", color="C1", label=label("torch", "torch"))
    step = label("SGD step", "SGD 步数")
    axes[0, 0].set(xlabel=step, ylabel=label("cross-entropy", "交叉熵"),
                   title=label(f"MNIST, {train['samples']} images, 784-{train['hidden']}-10, lr {train['lr']:g}",
                               f"MNIST，{train['samples']} 张图像，784-{train['hidden']}-10，学习率 {train['lr']:g}"))
    axes[0, 0].legend(fontsize=8)
    diff = [abs(a - b) / max(abs(a), abs(b), 1e-300) for a, b in zip(le, lt, strict=True)]
    axes[0, 1].plot(steps, [max(d, 1e-18) for d in diff], "-", color="C2")
    axes[0, 1].axvline(train["compare_steps"] - 0.5, color="0.5", ls=":", label=label("compared steps", "比较的步数"))
    axes[0, 1].set(yscale="log", xlabel=step, ylabel=label("|engine - torch| / loss", "|引擎 − torch| / 损失"),
                   title=label("relative difference (1e-18: equal)", "相对差（1e-18 即相等）"))
    axes[0, 1].legend(fontsize=8)
    return plotting.save(fig, path)

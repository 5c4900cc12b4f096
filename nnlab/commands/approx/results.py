"""What a finished `nnlab approx` run shows (headline) and what the tools over runs read (numbers)."""

from __future__ import annotations

from typing import Any

from nnlab.commands.approx.readers import curve
from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Per target, d and network: relative MSE at the smallest and largest width, and the fitted slope."""
    widths = summary["widths"]
    small, large, start = widths[0], widths[-1], summary["slope_from"]
    columns = [tr("target", "目标函数"), "d", tr("network", "网络"),
               tr(f"rel MSE D={small}", f"相对 MSE D={small}"), tr(f"rel MSE D={large}", f"相对 MSE D={large}"),
               tr(f"sup D={large}", f"sup 误差 D={large}"), tr(f"slope (D >= {start})", f"斜率（D ≥ {start}）")]
    rows = []
    for s in summary["slopes"]:
        if not s["method"].startswith("net:"):
            continue
        c = curve(summary["results"], s["target"], s["d"], s["method"])
        rows.append([s["target"], s["d"], s["method"], c[0]["rel_mse"], c[-1]["rel_mse"], c[-1]["sup"], s["slope"]])
    return columns, rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """Per target, dimension d and network (its activation: `bump.d2.sigmoid.slope`), by what each number is:

    <target>.d<d>.<activation>.rel_mse_at_smallest_width  MSE / Var f at the smallest width D (mean over seeds)
    <target>.d<d>.<activation>.rel_mse_at_largest_width   MSE / Var f at the largest width D
    <target>.d<d>.<activation>.sup_at_largest_width       max |F - f| at the largest width D
    <target>.d<d>.<activation>.slope                      log-log slope of the MSE against D (D >= slope_from);
                                                          None when there is none to fit (e.g. at rounding)
    """
    out: dict[str, float | None] = {}
    for s in summary["slopes"]:
        if not s["method"].startswith("net:"):
            continue
        c = curve(summary["results"], s["target"], s["d"], s["method"])
        name = f"{s['target']}.d{s['d']}.{s['method'].removeprefix('net:')}"
        out |= {f"{name}.rel_mse_at_smallest_width": c[0]["rel_mse"], f"{name}.rel_mse_at_largest_width":
                c[-1]["rel_mse"], f"{name}.sup_at_largest_width": c[-1]["sup"], f"{name}.slope": s["slope"]}
    out |= side_numbers(summary)
    return {k: None if v is None else float(v) for k, v in out.items()}


def side_numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """The side measurements (absent in runs from before them: None):

    learned_features.random_rel_mse, .learned_rel_mse   MSE / Var f at --learn-width, mean over seeds
    weierstrass.<target>.sup_at_max_degree                 sup |f - p| at --max-degree, d = 1
    """
    import statistics

    out: dict[str, float | None] = {}
    learned = summary.get("learned_features") or {}
    out["learned_features.random_rel_mse"] = statistics.fmean(learned["random"]) if learned else None
    out["learned_features.learned_rel_mse"] = statistics.fmean(learned["learned"]) if learned else None
    for name, t in ((summary.get("weierstrass") or {}).get("targets") or {}).items():
        out[f"weierstrass.{name}.sup_at_max_degree"] = t["sup"][-1]
    return out

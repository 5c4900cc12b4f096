"""What a finished run of `nnlab modules` shows (headline: one row per measured quantity) and the numbers
tools read, named by what they measure."""

from __future__ import annotations

from typing import Any

from nnlab.core.i18n import tr


def headline(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One row per measured quantity: section, what, value."""
    rows: list[list[Any]] = []
    if "layernorm" in summary:
        s = summary["layernorm"]
        rows.append(["layernorm", "max |LN(MM_aW,ab) - LN(MM_W,b)| over a", s["max_invariance_diff"]])
        rows.append(["layernorm", "max |LN(MM_aW,b) - LN(MM_W,b)| (W alone)", s["max_w_alone_diff"]])
        for kind, spread in s["gradient_spread"].items():
            rows.append(["layernorm", f"gradient norm max/min over layers, LN {kind}", spread])
    if "residual" in summary:
        s = summary["residual"]
        rows.append(["residual", f"{s['scheme']} error vs L: fitted slope, mean over seeds", _slope(s)])
        rows.append(["residual", f"first-layer gradient norm, plain ({s.get('deep_init', 'torch')} init)",
                     s["first_grad"]["plain"]])
        rows.append(["residual", "first-layer gradient norm, residual", s["first_grad"]["residual"]])
    if "conv" in summary:
        s = summary["conv"]
        rows.append(["conv", "equivariance error (relative)", s["equivariance_error"]])
        rows.append(["conv", f"shift change after max pool / before (k={s['pool_size']})", s["pool_ratio"]["max"]])
        rows.append(["conv", f"shift change after avg pool / before (k={s['pool_size']})", s["pool_ratio"]["avg"]])
        rows.append(["conv", "small CNN test accuracy", s["cnn_accuracy"]])
    if "unet" in summary:
        s = summary["unet"]
        rows.append(["unet", "PSNR noisy (dB)", s["psnr_noisy"]])
        for kind in ("skips", "no_skips"):
            rows.append(["unet", f"PSNR denoised, {kind} (dB, mean ± std)",
                         f"{s['psnr'][kind]['mean']:.2f} ± {s['psnr'][kind]['std']:.2f}"])
        rows.append(["unet", "PSNR with skips - without, paired (dB, mean ± s.e.)",
                     f"{s['gap_db']:.2f} ± {s['gap_std_err_db']:.2f}"])
    return [tr("section", "小节"), tr("quantity", "测量量"), tr("value", "数值")], rows


def numbers(summary: dict[str, Any]) -> dict[str, float | None]:
    """The headline's quantities by name, for the sections that ran (a section left out has no names):

    layernorm.invariance_error       max |LN(MM_aW,ab) - LN(MM_W,b)| over the factors a, at the run's eps
    layernorm.invariance_error_exact ... with the lecture's LN-S (no eps): 0 up to rounding
    layernorm.w_alone_error          the same with W scaled alone (b kept): LN is not invariant to it
    layernorm.gradient_spread_pre    max / min gradient norm over the layers, LN before the activation (geometric
                                     mean over the seeds)
    layernorm.gradient_spread_post   ... LN after it
    layernorm.gradient_spread_none   ... no LN at all
    residual.euler_slope             fitted log-log slope of the block's error against L (Euler: about -1), mean
                                     over the seeds; residual.euler_slope_std_err its standard error
    residual.fit_r2                  r^2 of the first seed's fit
    residual.first_grad_plain        first-layer gradient norm of the deep plain network (geometric mean, seeds)
    residual.first_grad_residual     ... and of the deep residual one
    residual.first_grad_ratio        ... residual / plain (the claim's)
    conv.equivariance_error          relative change of conv(shift(x)) against shift(conv(x))
    conv.max_pool_ratio              shift change after max pooling / before (mean over the trained CNNs)
    conv.avg_pool_ratio              ... after average pooling / before
    conv.cnn_accuracy                the small CNN's test accuracy (the first seed's, whose filters are drawn)
    unet.psnr_noisy_db               PSNR of the noisy digits (dB)
    unet.psnr_skips_db               PSNR denoised by the U-Net, mean over seeds (dB); unet.psnr_skips_std_db
    unet.psnr_no_skips_db            ... by the same network without skips; unet.psnr_no_skips_std_db
    unet.psnr_gain_db                denoising's gain: mean PSNR with skips - PSNR noisy (dB, the claim's)
    unet.skips_gain_db               the skips' gain: mean PSNR with skips - without, paired by seed (dB)
    """
    out: dict[str, float | None] = {}
    if "layernorm" in summary:
        s = summary["layernorm"]
        out["layernorm.invariance_error"] = _number(s["max_invariance_diff"])
        out["layernorm.invariance_error_exact"] = _number(s.get("max_invariance_diff_exact", s["max_invariance_diff"]))
        out["layernorm.w_alone_error"] = _number(s["max_w_alone_diff"])
        for kind, spread in s["gradient_spread"].items():
            out[f"layernorm.gradient_spread_{kind}"] = _number(spread)
    if "residual" in summary:
        s = summary["residual"]
        out["residual.euler_slope"] = _number(_slope(s))
        out["residual.euler_slope_std_err"] = _number(s.get("slope_seeds", {}).get("std_err"))
        out["residual.fit_r2"] = _number(s["fit_r2"])
        out["residual.first_grad_plain"] = _number(s["first_grad"]["plain"])
        out["residual.first_grad_residual"] = _number(s["first_grad"]["residual"])
        out["residual.first_grad_ratio"] = _number(s["first_grad_ratio"])
    if "conv" in summary:
        s = summary["conv"]
        out["conv.equivariance_error"] = _number(s["equivariance_error"])
        out["conv.max_pool_ratio"] = _number(s["pool_ratio"]["max"])
        out["conv.avg_pool_ratio"] = _number(s["pool_ratio"]["avg"])
        out["conv.cnn_accuracy"] = _number(s["cnn_accuracy"])
    if "unet" in summary:
        s = summary["unet"]
        out["unet.psnr_noisy_db"] = _number(s["psnr_noisy"])
        for kind in ("skips", "no_skips"):
            out[f"unet.psnr_{kind}_db"] = _number(s["psnr"][kind]["mean"])
            out[f"unet.psnr_{kind}_std_db"] = _number(s["psnr"][kind]["std"])
        out["unet.psnr_gain_db"] = _number(s["psnr"]["skips"]["mean"] - s["psnr_noisy"])
        out["unet.skips_gain_db"] = _number(s["gap_db"])
    return out


def _slope(residual: dict[str, Any]) -> float:
    """The mean slope over the seeds (a run from before seeds existed: its one slope)."""
    return residual["slope_seeds"]["mean"] if "slope_seeds" in residual else residual["slope"]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)

"""The constants and rates the approximation theorems speak of, computed (numpy, pure functions).

- Barron's constant C_f = int |f^(w)| dw (cos form) and C_f = int (1 + ||w||) |f^(w)| dw with
  ||w|| = sup_{x in [0,1]^d} |w . x| (sigmoid form), with the lecture's transform
  f^(w) = (2 pi)^-d int f(x) e^{-i w.x} dx, for the named targets where it is finite.
- Which decay law a sequence of errors follows: exponential (log e linear in D) or a power (log e linear in
  log D), each fitted by least squares with the standard error of its rate, and the evidence between them.
- Chebyshev nodes: points where polynomial least squares is well conditioned at any degree (Weierstrass).
- The growth factor per added dimension of the width a target error needs (the curse: D ~ (L/eps)^d).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from nnlab.nn.approximation import BUMP_WIDTH

# Akaike weights of two fits with the same number of parameters: exp(Delta / 2) with Delta = n ln(RSS_b / RSS_a).
# Evidence of 20 : 1 for one law over the other is Delta >= 2 ln 20 (about 6.0).
EVIDENCE_20_TO_1 = 2 * math.log(20.0)


def fourier_l1_1d(g: Callable[[np.ndarray], np.ndarray], centre: float, scale: float, points: int = 1601,
                  reach: float = 14.0) -> float:
    """int |g^(w)| dw for g on the real line, g^(w) = (1/2pi) int g(t) e^{-i w t} dt, by the trapezoid rule.

    g must decay within `reach` * scale of `centre` and its transform within reach / scale of 0 (a Gaussian
    of standard deviation `scale` does; the trapezoid rule is then spectrally accurate). Returns the number."""
    t = centre + np.linspace(-reach * scale, reach * scale, points)
    w = np.linspace(-reach / scale, reach / scale, points)
    gt = g(t)
    dt, dw = t[1] - t[0], w[1] - w[0]
    phase = w[:, None] * (t[None, :] - centre)  # (w, t); |g^| does not depend on the shift by the centre
    real = np.trapezoid(gt[None, :] * np.cos(phase), dx=dt, axis=1) / (2 * math.pi)
    imag = np.trapezoid(gt[None, :] * np.sin(phase), dx=dt, axis=1) / (2 * math.pi)
    return float(np.trapezoid(np.hypot(real, imag), dx=dw))


def bump_constant_cos(d: int) -> float:
    """C_f (cos form) of the bump exp(-|x - 1/2|^2 / (2 s^2 d)), computed: the bump is a product of d
    one-dimensional Gaussians of variance s^2 d, so |f^| is the product of theirs and C_f = (int |g^|)^d.
    The closed form is f(1/2) = 1 in every d (f^ is a positive Gaussian of mass f(centre))."""
    sigma = BUMP_WIDTH * math.sqrt(d)
    one = fourier_l1_1d(lambda t: np.exp(-((t - 0.5) ** 2) / (2 * sigma**2)), 0.5, sigma)
    return one**d


def bump_constant_sigmoid(d: int, rng: np.random.Generator, samples: int = 200_000) -> tuple[float, float]:
    """C_f = int (1 + ||w||) |f^(w)| dw (sigmoid form) of the bump, ||w|| = sup_{x in [0,1]^d} |w . x|
    = max(sum_i w_i^+, sum_i w_i^-). |f^| is the density of N(0, I / (s^2 d)) times C_f(cos) = 1, so
    C_f = 1 + E ||w||: a Monte-Carlo mean over `samples` draws. Returns (C_f, its standard error)."""
    w = rng.standard_normal((samples, d)) / (BUMP_WIDTH * math.sqrt(d))
    norm = np.maximum(np.clip(w, 0, None).sum(1), np.clip(-w, 0, None).sum(1))
    return 1.0 + float(norm.mean()), float(norm.std() / math.sqrt(samples))


def barron_constant(target: str, d: int, rng: np.random.Generator | None = None) -> dict[str, float] | None:
    """{"cos": C_f, "sigmoid": C_f} of a named smooth target in d dimensions, or None where nnlab has no finite
    constant for it (the Lipschitz targets' spectra decay too slowly; a formula's is unknown).
    cosines: three plane waves of amplitude 1/3, each two deltas of mass 1/6 at +-w_k with |w_k| = 2 pi:
    C_f = 1 (cos form); sigmoid form: 1 + (1/3) sum_k ||w_k||."""
    if target == "bump":
        sigmoid, _ = bump_constant_sigmoid(d, rng if rng is not None else np.random.default_rng(0))
        return {"cos": bump_constant_cos(d), "sigmoid": sigmoid}
    if target == "cosines":
        from nnlab.nn.approximation import cosine_directions

        omega = cosine_directions(d)  # (3, d)
        sup_norm = np.maximum(np.clip(omega, 0, None).sum(1), np.clip(-omega, 0, None).sum(1))
        return {"cos": 1.0, "sigmoid": 1.0 + float(sup_norm.mean())}
    return None


# Errors against width: slopes, the decay's points and its law, the width a target error needs



def loglog_slope(widths: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> float | None:
    """Least-squares slope of log(error) against log(width), over the points with error > floor."""
    pts = [(math.log(w), math.log(e)) for w, e in zip(widths, errors, strict=True)
           if e is not None and e > floor and math.isfinite(e)]
    if len(pts) < 3:
        return None
    xs, ys = np.array(pts).T
    return float(np.polyfit(xs, ys, 1)[0])


def decay_points(widths: Sequence[float], errors: Sequence[float], floor: float) -> list[tuple[float, float]]:
    """(width, error) from the first width on, up to the first error that is missing, not finite or at or below
    `floor` (where ridge and rounding take over from the decay)."""
    pts = []
    for w, e in zip(widths, errors, strict=True):
        if e is None or not math.isfinite(e) or e <= floor:
            break
        pts.append((float(w), float(e)))
    return pts


def exponential_fit(widths: Sequence[float], errors: Sequence[float], floor: float = 0.0) -> dict | None:
    """Is the decay of `errors` with width exponential (log e linear in D) rather than a power (log e linear
    in log D)? Fits both by least squares on the points before the curve reaches `floor` (where ridge and
    rounding take over: the first point at or below it ends the decay).

    Returns rate (d log e / d D), the coefficient of determination R^2 of each fit, and the points used;
    None with fewer than 3 points.
    """
    pts = decay_points(widths, errors, floor)
    if len(pts) < 3:
        return None
    d, log_e = np.array([p[0] for p in pts]), np.log([p[1] for p in pts])

    def r_squared(x: np.ndarray) -> tuple[float, float]:
        slope, icpt = np.polyfit(x, log_e, 1)
        residual = float(np.sum((log_e - (slope * x + icpt)) ** 2))
        total = float(np.sum((log_e - log_e.mean()) ** 2))
        return float(slope), 1.0 - residual / total if total > 0 else 1.0

    rate, r2_exp = r_squared(d)
    _, r2_power = r_squared(np.log(d))
    return {"rate": rate, "r2_exponential": r2_exp, "r2_power": r2_power, "points": len(pts)}


def width_needed(widths: Sequence[float], errors: Sequence[float], eps: float) -> float | None:
    """The smallest width at which the error reaches eps, interpolated on log-log axes; None if never."""
    for i, e in enumerate(errors):
        if e <= eps:
            if i == 0:
                return float(widths[0])
            w0, w1, e0, e1 = widths[i - 1], widths[i], errors[i - 1], errors[i]
            t = (math.log(eps) - math.log(e0)) / (math.log(e1) - math.log(e0))
            return float(math.exp(math.log(w0) + t * (math.log(w1) - math.log(w0))))
    return None


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least squares y = a + b x: (b, standard error of b, residual sum of squares)."""
    b, a = np.polyfit(x, y, 1)
    rss = float(np.sum((y - (a + b * x)) ** 2))
    k = len(x)
    spread = float(np.sum((x - x.mean()) ** 2))
    se = math.sqrt(rss / (k - 2) / spread) if k > 2 and spread > 0 else math.inf
    return float(b), se, rss


def decay_law(widths: Sequence[float], errors: Sequence[float], floor: float) -> dict[str, float] | None:
    """Exponential or power law? On the points before the curve first reaches `floor` (ridge and rounding
    take over there), fit log e = a + rate D and log e = a' + power log D.

    Returns rate and rate_se (per unit of D), power and power_se, both residual sums of squares, the points
    used and `evidence` = n ln(RSS_power / RSS_exponential): positive where the exponential fits better,
    >= EVIDENCE_20_TO_1 where its Akaike weight is 20 times the power law's. None with fewer than 3 points."""
    pts = decay_points(widths, errors, floor)
    if len(pts) < 3:
        return None
    D = np.array([p[0] for p in pts])
    log_e = np.log([p[1] for p in pts])
    rate, rate_se, rss_exp = _line_fit(D, log_e)
    power, power_se, rss_pow = _line_fit(np.log(D), log_e)
    tiny = 1e-300  # an exact fit of 3 collinear points
    return {"rate": rate, "rate_se": rate_se, "power": power, "power_se": power_se, "rss_exponential": rss_exp,
            "rss_power": rss_pow, "points": len(pts),
            "evidence": len(pts) * math.log(max(rss_pow, tiny) / max(rss_exp, tiny))}


def chebyshev_nodes(n: int) -> np.ndarray:
    """n Chebyshev points of the first kind mapped to [0, 1]: (1 + cos(pi (j + 1/2) / n)) / 2, shape (n, 1)."""
    j = np.arange(n)
    return ((1 + np.cos(math.pi * (j + 0.5) / n)) / 2)[:, None]


def growth_per_dimension(dims: Sequence[int], widths: Sequence[float | None], ceiling: float
                         ) -> dict[str, float | bool] | None:
    """The factor by which the width needed grows per added dimension, from the smallest d to the largest.

    widths[i] is the width needed at dims[i], None where the sweep's largest width `ceiling` did not reach
    the error: it is then at least `ceiling`, and the factor computed with it is a lower bound. Returns
    factor = (D(d_max) / D(d_min))^(1 / (d_max - d_min)) with `lower_bound` saying whether it is one;
    None with fewer than 2 dimensions or when the smallest d's width is not reached."""
    pairs = sorted(zip(dims, widths, strict=True))
    if len(pairs) < 2 or pairs[0][1] is None:
        return None
    (d0, w0), (d1, w1) = pairs[0], pairs[-1]
    lower = w1 is None
    top = ceiling if lower else w1
    return {"factor": (top / w0) ** (1.0 / (d1 - d0)), "lower_bound": lower, "from_d": d0, "to_d": d1}

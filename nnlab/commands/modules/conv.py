"""Section conv: convolution and pooling on real MNIST digits (lecture: 卷积模块, 池化层, 特征提取).

Pixels x in [0, 1], (N, 1, 28, 28). Hand-made 3 x 3 filters (Sobel horizontal and vertical edges, the
Laplacian) are applied with nnlab.nn.layers.conv2d (padding 1, stride `conv_stride`). A small CNN
(conv k x k -> ReLU -> max-pool 2 -> conv 3 x 3 -> ReLU -> max-pool 2 -> linear) is trained for
`cnn_steps` Adam steps on training digits; its first-layer filters and feature maps are drawn.

S_t shifts a digit t pixels down and right (zeros enter). Convolution with stride s is equivariant:
conv(S_t x) = S_{t/s} conv(x) when s divides t, compared on the interior (away from the borders the
zero-filled shift and the padding touch). Pooling over k x k windows makes the features approximately
invariant: the relative change ||P(F(S_t x)) - P(F(x))|| / ||P(F(x))|| of the pooled first-layer maps of
the trained CNN (F = ReLU(conv)) is smaller than the change ||F(S_t x) - F(x)|| / ||F(x)|| before pooling.
The CNN is trained with `seeds` seeds (initialization and batches): the claim judges the ratio's mean and
spread; the figures show the first seed's filters. Equivariance is an identity (a check): exact at stride 1,
and at stride s when s divides t; a stride that does not divide the shift is measured and shown, not judged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules import spread as stats
from nnlab.commands.modules.config import ModulesConfig
from nnlab.core.claims import check, claim
from nnlab.core.seeding import torch_stream
from nnlab.nn.layers import avg_pool2d, conv2d, max_pool2d

if TYPE_CHECKING:
    from nnlab.core.run import Run

HAND = {  # 3 x 3 filters, cross-correlation as F.conv2d computes it
    "horizontal edges": np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),
    "vertical edges": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
    "Laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
}
BATCH, TEST, TRAIN = 64, 1000, 20000  # TRAIN: enough digits for a few hundred steps


def shift(x: np.ndarray, t: int) -> np.ndarray:
    """S_t x: every image moved t pixels down and right, zeros entering; x (..., H, W)."""
    if t == 0:
        return x.copy()
    out = np.zeros_like(x)
    out[..., t:, t:] = x[..., :-t, :-t]
    return out


def equivariance_error(x: np.ndarray, t: int, stride: int) -> float:
    """||conv(S_t x) - S_{t//s} conv(x)|| / ||conv(x)|| over the interior, hand filters, padding 1."""
    w = np.stack(list(HAND.values()))[:, None]  # (3, 1, 3, 3)
    y = conv2d(x, w, None, stride, 1)  # (N, 3, Ho, Wo)
    y_shifted_input = conv2d(shift(x, t), w, None, stride, 1)
    moved = shift(y, t // stride)
    margin = -(-(t + 2) // stride) + 1  # output pixels whose window may touch a border effect
    inner = (slice(None), slice(None), slice(margin, y.shape[2] - margin), slice(margin, y.shape[3] - margin))
    a, b = y_shifted_input[inner], moved[inner]
    denom = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / denom if denom > 0 else 0.0


def train_cnn(config: ModulesConfig, images: np.ndarray, labels: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
              rec: Run, repeat: int = 0):
    """The small CNN after cnn_steps: (first-layer weights (C, 1, k, k), biases (C,), accuracy, losses).
    `repeat` k > 0 draws from the stream's k-th key; the first uses the stream runs before seeds existed used."""
    import torch
    from torch import nn

    from nnlab.nn.param_rules import lecture_adam

    gen = torch_stream(config.seed, "conv-cnn", *([repeat] if repeat else []))
    c, k = config.cnn_channels, config.kernel_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))  # init draws, isolated
        net = nn.Sequential(nn.Conv2d(1, c, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(2 * c * 7 * 7, 10))
    net = net.to(memory_format=torch.channels_last)  # NHWC: faster convolutions at few channels (see unet.py)
    opt = lecture_adam(net.parameters(), lr=config.lr)
    x_all = torch.from_numpy(images).float()[:, None]  # (N, 1, 28, 28)
    y_all = torch.from_numpy(labels).long()
    losses = []
    for step in rec.track(range(config.cnn_steps), f"conv: training the small CNN, seed {repeat}"):
        idx = torch.randint(0, len(x_all), (BATCH,), generator=gen)
        loss = nn.functional.cross_entropy(net(x_all[idx].contiguous(memory_format=torch.channels_last)), y_all[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if repeat == 0:  # the first seed's curve, as before seeds existed
            rec.log({"step": step + 1, "section": "conv", "cnn_loss": losses[-1]})
    with torch.no_grad():
        pred = net(torch.from_numpy(test_x).float()[:, None]).argmax(1).numpy()
    conv1 = net[0]
    return (conv1.weight.detach().double().numpy(), conv1.bias.detach().double().numpy(),
            float((pred == test_y).mean()), losses)


def pool_change(maps: np.ndarray, maps_shifted: np.ndarray, pool, k: int) -> float:
    """Relative change of the (pooled) maps under the input shift, summed over digits and channels."""
    if k > 1:
        maps, maps_shifted = pool(maps, k), pool(maps_shifted, k)
    denom = float(np.linalg.norm(maps))
    return float(np.linalg.norm(maps_shifted - maps)) / denom if denom > 0 else 0.0


def shift_changes(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, config: ModulesConfig):
    """First-layer maps F(x) = ReLU(conv1 x) of x and S_t x, (N, C, 28, 28) each, and the relative change under the
    shift before pooling and after max and average pooling."""
    pad, t, k = config.kernel_size // 2, config.conv_shift, config.pool_size
    feats = np.maximum(conv2d(x, w1, b1, 1, pad), 0.0)
    feats_s = np.maximum(conv2d(shift(x, t), w1, b1, 1, pad), 0.0)
    before = pool_change(feats, feats_s, None, 1)
    after = {"max": pool_change(feats, feats_s, max_pool2d, k), "avg": pool_change(feats, feats_s, avg_pool2d, k)}
    return feats, feats_s, before, after


def run_section(config: ModulesConfig, rec: Run) -> dict[str, Any]:
    from nnlab.data.mnist import run_mnist

    data = run_mnist(config.data_dir)
    x = data.test_images[: config.conv_digits].astype(np.float64)[:, None] / 255.0  # (N, 1, 28, 28)
    t, s, k = config.conv_shift, config.conv_stride, config.pool_size
    eq_unit = equivariance_error(x, t, 1)  # the identity itself: stride 1
    eq = equivariance_error(x, t, s) if s > 1 else eq_unit

    train_x = data.train_images[:TRAIN].astype(np.float32) / 255.0
    test_x, test_y = data.test_images[:TEST].astype(np.float32) / 255.0, data.test_labels[:TEST]
    trained = [train_cnn(config, train_x, data.train_labels[:TRAIN], test_x, test_y, rec, i)
               for i in range(config.seeds)]
    w1, b1, acc, losses = trained[0]  # the figures' CNN
    feats, feats_s, before, after = shift_changes(x, w1, b1, config)
    ratios = [(before, after)] + [shift_changes(x, w, b, config)[2:] for w, b, _, _ in trained[1:]]
    ratio_max = stats.summarize([a["max"] / b if b > 0 else float("nan") for b, a in ratios])
    ratio_avg = stats.summarize([a["avg"] / b if b > 0 else float("nan") for b, a in ratios])
    ratio = {"max": ratio_max["mean"], "avg": ratio_avg["mean"]}
    accuracy = stats.summarize([a for _, _, a, _ in trained])
    rec.log({"step": 0, "section": "conv", "equivariance_error": eq, "change_before_pool": before,
             **{f"change_after_{kk}_pool": v for kk, v in after.items()}})

    # One digit for the figures: its hand-made maps, the learned filters and maps, pooled, and shifted.
    d0 = x[:1]
    hand_w = np.stack(list(HAND.values()))[:, None]
    hand_maps = conv2d(d0, hand_w, None, 1, 1)[0]  # (3, 28, 28)
    r = lambda a: np.round(a, 4).tolist()  # noqa: E731 - JSON-sized pictures
    pooled = lambda a, pool: pool(a[None], k)[0] if k > 1 else a  # noqa: E731
    picture = {
        "digit": r(d0[0, 0]), "digit_shifted": r(shift(d0, t)[0, 0]), "label": int(data.test_labels[0]),
        "hand_names": list(HAND), "hand_filters": r(hand_w[:, 0]), "hand_maps": r(hand_maps),
        "hand_max": r(pooled(hand_maps, max_pool2d)), "hand_avg": r(pooled(hand_maps, avg_pool2d)),
        "learned_filters": r(w1[:, 0]), "learned_maps": r(feats[0]), "learned_maps_shifted": r(feats_s[0]),
        "learned_max": r(pooled(feats[0], max_pool2d)), "learned_max_shifted": r(pooled(feats_s[0], max_pool2d)),
    }
    divisible = t % s == 0
    strided = ("" if s == 1 else f"; stride {s}: {eq:.3g}, " + (
        "exact too, since s divides t" if divisible else f"not judged, since {s} does not divide {t}: the output would "
        f"have to move by {t}/{s} px"))
    strided_zh = ("" if s == 1 else f"；步长 {s}：{eq:.3g}，" + (
        "同样精确，因为 s 整除 t" if divisible else f"不作判断，因为 {s} 不整除 {t}：输出将须移动 {t}/{s} 像素"))
    exact = eq_unit <= 1e-12 and (eq <= 1e-12 or not divisible)
    claims = [
        check("modules.conv-equivariant",
              f"convolution commutes with a shift of {t} px: conv(S_t x) = S_t conv(x) on the interior of {len(x)} "
              f"test digits (relative difference, hand-made filters, stride 1{strided})",
              {"stride_1": eq_unit, f"stride_{s}": eq} if s > 1 else eq_unit, "<= 1e-12", exact,
              why=f"conv(S_t x) and S_t conv(x) differ by {max(eq_unit, eq if divisible else 0):.3g}: a bug in the "
                  "convolution or the shift",
              zh=f"卷积与 {t} 像素的平移可交换：在 {len(x)} 个测试数字的内部区域上 conv(S_t x) = S_t conv(x)"
                 f"（相对差，手工设计的滤波器，步长 1{strided_zh}）",
              why_zh=f"conv(S_t x) 与 S_t conv(x) 相差 {max(eq_unit, eq if divisible else 0):.3g}："
                     "卷积或平移的实现有误"),
        # --pool-size 1 (no pooling) flips it: the ratio is then exactly 1.
        claim("modules.pool-invariance",
              f"max pooling ({k} x {k}) makes the trained CNN's first-layer features approximately invariant to a "
              f"{t}-px shift: they change less after pooling than before (relative change after / before, over "
              f"{len(x)} test digits, mean over {config.seeds} trained CNN(s))",
              {"max": ratio_max, "avg": ratio_avg}, "max < 1: mean + 2 s.e. below 1", stats.below(ratio_max, 1.0),
              source="nnlab",
              why=stats.one_seed_why(ratio_max, "--seeds") or (
                  f"after {k} x {k} max pooling the features change by {stats.interval(ratio_max)} of their change "
                  "before pooling, not less" + (": a 1 x 1 window does not pool" if k == 1 else "")),
              tip="--pool-size 2",
              zh=f"最大池化（{k} × {k}）使训练后的 CNN 第一层特征对 {t} 像素的平移近似不变：池化后的变化小于池化前"
                 f"（池化后 / 池化前的相对变化，在 {len(x)} 个测试数字上，对 {config.seeds} 个训练后的 CNN 取平均）",
              why_zh=stats.one_seed_why_zh(ratio_max, "--seeds") or (
                  f"经过 {k} × {k} 最大池化后，特征的变化是池化前变化的 {stats.interval_zh(ratio_max)}，并没有更小"
                  + ("：1 × 1 的窗口并不池化" if k == 1 else ""))),
    ]
    return {"shift": t, "stride": s, "pool_size": k, "digits": len(x), "equivariance_error": eq,
            "equivariance_error_stride_1": eq_unit, "change_before_pool": before, "change_after_pool": after,
            "pool_ratio": ratio, "pool_ratio_seeds": {"max": ratio_max, "avg": ratio_avg},
            "cnn_accuracy": acc, "cnn_accuracy_seeds": accuracy, "seeds": config.seeds,
            "cnn_losses": [round(v, 5) for v in losses], "picture": picture,
            "diverged": not all(math.isfinite(v) for _, _, _, ls in trained for v in ls), "claims": claims}

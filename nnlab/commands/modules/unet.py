"""Section unet: a small U-Net denoises MNIST digits; the same network without skips is the control.

Clean pixels y in [0, 1], noisy input x = y + sigma * N(0, 1) (not clipped). The U-Net (c channels):

    down:  e1 = block(x, c)            28 x 28       block = (conv 3x3 -> ReLU) twice
           e2 = block(pool(e1), 2c)    14 x 14       pool = max-pool 2
           m  = block(pool(e2), 4c)     7 x 7
    up:    d2 = block([up(m), e2], 2c)  14 x 14      up = transposed conv 2x2 stride 2; [a, b] concatenates
           d1 = block([up(d2), e1], c)  28 x 28           channels (the skip connection)
           out = conv 1x1 (d1)

Without skips the decoder gets up(.) alone (its first conv takes fewer channels; otherwise the same layers).
Loss: mean squared error to y; Adam, batch 64. PSNR = 10 log10(1 / MSE) in dB on held-out test digits,
the output clipped to [0, 1]. Each network is trained with `unet_seeds` seeds (weights, batches, noise).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlab.commands.modules import spread
from nnlab.commands.modules.config import ModulesConfig
from nnlab.core.claims import claim
from nnlab.core.seeding import torch_stream

if TYPE_CHECKING:
    from nnlab.core.run import Run

BATCH, TRAIN = 64, 20000
KINDS = ("skips", "no_skips")


def build(channels: int, skips: bool):
    import torch
    from torch import nn

    def block(cin: int, cout: int):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

    c = channels

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2, self.mid = block(1, c), block(c, 2 * c), block(2 * c, 4 * c)
            self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
            self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
            self.dec2 = block(4 * c if skips else 2 * c, 2 * c)
            self.dec1 = block(2 * c if skips else c, c)
            self.out = nn.Conv2d(c, 1, 1)

        def forward(self, x):  # x (B, 1, 28, 28)
            e1 = self.enc1(x)  # (B, c, 28, 28)
            e2 = self.enc2(nn.functional.max_pool2d(e1, 2))  # (B, 2c, 14, 14)
            m = self.mid(nn.functional.max_pool2d(e2, 2))  # (B, 4c, 7, 7)
            u2 = self.up2(m)  # (B, 2c, 14, 14)
            d2 = self.dec2(torch.cat([u2, e2], 1) if skips else u2)
            u1 = self.up1(d2)  # (B, c, 28, 28)
            return self.out(self.dec1(torch.cat([u1, e1], 1) if skips else u1))

    return UNet()


def psnr(pred, clean) -> float:
    """10 log10(1 / MSE) for images in [0, 1] (dB), over the whole batch."""
    mse = float(((pred - clean) ** 2).mean())
    return 10 * math.log10(1.0 / mse) if mse > 0 else float("inf")


def train_one(config: ModulesConfig, skips: bool, seed_key: int, train, test_clean, test_noisy,
              rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.nn.param_rules import lecture_adam

    kind = KINDS[0] if skips else KINDS[1]
    gen = torch_stream(config.seed, "unet", seed_key)  # the same stream for both kinds: only the skips differ
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))  # init draws, isolated
        net = build(config.unet_channels, skips)
    # channels_last (NHWC): oneDNN's convolutions, above all their backward pass, are 1.3-1.8x faster in it at
    # these few channels on one core (benchmarks/unet_layout.py); the same arithmetic, in another order.
    net = net.to(memory_format=torch.channels_last)
    opt = lecture_adam(net.parameters(), lr=config.lr)
    losses = []
    for step in rec.track(range(config.unet_steps), f"unet: {kind}, seed {seed_key}"):
        clean = train[torch.randint(0, len(train), (BATCH,), generator=gen)]
        noisy = clean + config.unet_noise * torch.randn(clean.shape, generator=gen)
        loss = (net(noisy.contiguous(memory_format=torch.channels_last)) - clean).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if (step + 1) % 10 == 0 or step + 1 == config.unet_steps:
            rec.log({"step": step + 1, "section": "unet", "network": kind, "seed_index": seed_key, "loss": losses[-1]})
    with torch.no_grad():
        denoised = net(test_noisy).clamp(0, 1)
    return {"psnr": psnr(denoised, test_clean), "denoised": denoised[:6, 0].numpy(),
            "finite": all(math.isfinite(v) for v in losses)}


def run_section(config: ModulesConfig, rec: Run) -> dict[str, Any]:
    import torch

    from nnlab.data.mnist import run_mnist

    data = run_mnist(config.data_dir)
    train = torch.from_numpy(data.train_images[:TRAIN].astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28)
    test_clean = torch.from_numpy(data.test_images[-config.unet_test:].astype(np.float32) / 255.0)[:, None]
    noise_gen = torch_stream(config.seed, "unet-test-noise")
    test_noisy = test_clean + config.unet_noise * torch.randn(test_clean.shape, generator=noise_gen)
    noisy_psnr = psnr(test_noisy.clamp(0, 1), test_clean)

    results: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for i in range(config.unet_seeds):
        for skips in (True, False):
            results[KINDS[0] if skips else KINDS[1]].append(
                train_one(config, skips, i, train, test_clean, test_noisy, rec))
    stats = {}
    for kind, rs in results.items():
        values = np.array([r["psnr"] for r in rs])
        stats[kind] = {"values": values.round(4).tolist(), "mean": float(values.mean()),
                       "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    # Paired by seed (same init stream, batches and noise): the gap's mean and its standard error.
    gaps = spread.summarize(list(np.array(stats["skips"]["values"]) - np.array(stats["no_skips"]["values"])), 3)
    gap, se = gaps["mean"], gaps["std_err"] or 0.0
    gains = spread.summarize([v - noisy_psnr for v in stats["skips"]["values"]], 3)
    n = config.unet_seeds
    setting = f"{config.unet_steps} steps, noise std {config.unet_noise:g}, {config.unet_channels} channels"
    setting_zh = f"{config.unet_steps} 步，噪声标准差 {config.unet_noise:g}，{config.unet_channels} 个通道"
    claims = [
        # --unet-steps 0 flips it: an untrained network does not denoise.
        claim("modules.unet-denoises",
              f"a small U-Net trained on this run's settings ({setting}) denoises held-out digits: PSNR gain over "
              f"the noisy input, mean over {n} seed(s)",
              {"gain_db": gains, "psnr_noisy_db": round(noisy_psnr, 3)}, "> 3 dB: mean - 2 s.e. above 3",
              spread.above(gains, 3.0), source="nnlab",
              why=spread.one_seed_why(gains, "--unet-seeds") or (
                  f"the denoised digits are only {spread.interval(gains, ' dB')} above the noisy input's "
                  f"{noisy_psnr:.2f} dB" + (": the network was not trained" if config.unet_steps == 0 else "")),
              tip="--unet-steps 200",
              zh=f"在本次运行的设置下（{setting_zh}）训练的小 U-Net 能给留出的测试数字去噪：相对含噪输入的 PSNR 增益，"
                 f"对 {n} 个种子取平均",
              why_zh=spread.one_seed_why_zh(gains, "--unet-seeds") or (
                  f"去噪后的数字只比含噪输入的 {noisy_psnr:.2f} dB 高 {spread.interval_zh(gains, ' dB')}"
                  + ("：网络没有训练" if config.unet_steps == 0 else ""))),
        # Paired over seeds, holds when the mean gap exceeds 2 standard errors. Flipped by very large noise (the
        # skips then carry mostly noise: see the test's FLIPS), or by one seed (no spread).
        claim("modules.unet-skips-help",
              f"the skip connections help on this run's settings ({setting}): PSNR with skips minus without, "
              f"paired over {n} seed(s) (the two networks share their layers' init stream, batches and noise; "
              "only the skips differ)",
              {"gap_db": gaps}, "> 0: mean - 2 s.e. above 0", spread.above(gaps, 0.0), source="nnlab",
              why=spread.one_seed_why(gaps, "--unet-seeds") or (
                  f"with skips the PSNR is {spread.interval(gaps, ' dB')} above the network without them: "
                  "not beyond the seeds' spread"),
              tip="--unet-noise 0.5",
              zh=f"在本次运行的设置下（{setting_zh}）跳跃连接有帮助：有跳跃连接与无跳跃连接的 PSNR 之差，"
                 f"在 {n} 个种子上配对（两个网络共用各层的初始化随机流、批次与噪声，只有跳跃连接不同）",
              why_zh=spread.one_seed_why_zh(gaps, "--unet-seeds") or (
                  f"有跳跃连接时 PSNR 比没有时高 {spread.interval_zh(gaps, ' dB')}：没有超出种子间的离散度")),
    ]
    r = lambda a: np.round(np.asarray(a), 3).tolist()  # noqa: E731
    panels = {"clean": r(test_clean[:6, 0].numpy()), "noisy": r(test_noisy[:6, 0].clamp(0, 1).numpy()),
              **{kind: r(results[kind][0]["denoised"]) for kind in KINDS}}
    diverged = not all(x["finite"] for rs in results.values() for x in rs)
    return {"psnr_noisy": noisy_psnr, "psnr": stats, "gap_db": gap, "gap_std_err_db": se, "gap_per_seed_db":
            gaps["per_seed"], "gain_std_err_db": gains["std_err"], "steps": config.unet_steps,
            "noise": config.unet_noise, "seeds": n, "panels": panels, "diverged": diverged, "claims": claims}

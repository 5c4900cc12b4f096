"""Benchmark: one training step of `nnlab modules`' U-Net (batch 64, 8 channels, Adam, one thread) in three
layouts, ratios against the first measured in the same process:

    python benchmarks/unet_layout.py             # 20 timed steps each, after 3 warm-up steps
    python benchmarks/unet_layout.py --steps 50

- nchw: torch's default layout, as unet.py trained before issue 28;
- channels_last: the same network in NHWC, as unet.py trains now (oneDNN's convolutions at few channels,
  their backward pass above all, are faster in it);
- 3 seeds grouped, channels_last: three networks as one, every convolution with groups=3 (the "batch the seeds"
  idea): the time of one step divided by 3, to set against one network's.

Each variant is timed with and without the skip connections (the command trains both), interleaved in rounds so
that a change in the machine's load hits all alike; the median of the rounds is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

from nnlab.commands.modules.unet import build

BATCH, CHANNELS = 64, 8


def grouped(c: int, groups: int, skips: bool) -> nn.Module:
    """`groups` U-Nets of unet.build as one: every tensor holds them side by side along the channels."""

    def conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
        return nn.Conv2d(groups * cin, groups * cout, k, padding=k // 2, groups=groups)

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(conv(cin, cout), nn.ReLU(), conv(cout, cout), nn.ReLU())

    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2, self.mid = block(1, c), block(c, 2 * c), block(2 * c, 4 * c)
            self.up2 = nn.ConvTranspose2d(groups * 4 * c, groups * 2 * c, 2, stride=2, groups=groups)
            self.up1 = nn.ConvTranspose2d(groups * 2 * c, groups * c, 2, stride=2, groups=groups)
            self.dec2, self.dec1 = block(4 * c if skips else 2 * c, 2 * c), block(2 * c if skips else c, c)
            self.out = conv(c, 1, 1)

        def cat(self, a, b):  # each network's channels of a, then its channels of b: (B, G*(ca+cb), H, W)
            n, _, h, w = a.shape
            return torch.cat([a.reshape(n, groups, -1, h, w), b.reshape(n, groups, -1, h, w)], 2).reshape(n, -1, h, w)

        def forward(self, x):  # x (B, G, 28, 28): one image channel per network
            e1 = self.enc1(x)
            e2 = self.enc2(F.max_pool2d(e1, 2))
            m = self.mid(F.max_pool2d(e2, 2))
            u2 = self.up2(m)
            d2 = self.dec2(self.cat(u2, e2) if skips else u2)
            u1 = self.up1(d2)
            return self.out(self.dec1(self.cat(u1, e1) if skips else u1))

    return Grouped()


def step_ms(net: nn.Module, images: int, channels_last: bool, steps: int) -> float:
    """Milliseconds of one Adam step on a batch of random images (BATCH, images, 28, 28), after 3 warm-up steps."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=layout)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x = torch.rand(BATCH, images, 28, 28).contiguous(memory_format=layout)
    y = torch.rand(BATCH, images, 28, 28)
    for i in range(steps + 3):
        if i == 3:
            started = time.perf_counter()
        loss = (net(x) - y).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and round (default: 20)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default: 3)")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    variants = {"nchw": lambda s: step_ms(build(CHANNELS, s), 1, False, opts.steps),
                "channels_last": lambda s: step_ms(build(CHANNELS, s), 1, True, opts.steps),
                "3 seeds grouped, channels_last": lambda s: step_ms(grouped(CHANNELS, 3, s), 3, True, opts.steps) / 3}
    for skips in (True, False):
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(opts.rounds):
            for name, timed in variants.items():
                times[name].append(timed(skips))
        base = statistics.median(times["nchw"])
        for name, ms in times.items():
            print(f"{'skips' if skips else 'no skips':>8} · {name:<30} {statistics.median(ms):6.1f} ms a network's "
                  f"step  x{base / statistics.median(ms):.2f} of nchw", flush=True)


if __name__ == "__main__":
    main()

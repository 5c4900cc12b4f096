"""TensorBoard event files written while a run trains (`--tensorboard`, or NNLAB_TENSORBOARD=1): every numeric
field of each metrics line becomes a scalar as it is logged, so `tensorboard --logdir outputs` shows the
curves live. `nnlab export` writes the same scalars (and the figures and claims) after a run.

A line `{"step": 3, "method": "gd", "loss": 0.5}` is the scalar `loss/method_gd` at step 3: the text fields
name the series, `step` and `epoch` are axes. Event files go to RUN_DIR/tensorboard/, written by tensorboardX
(protobuf only, no TensorFlow) and flushed every few seconds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

AXES = ("step", "epoch")  # x axes, not metrics
FLUSH_S = 5  # how stale the viewer's curves may be
ENV = "NNLAB_TENSORBOARD"


def wanted(flag: bool) -> bool:
    """--tensorboard, or NNLAB_TENSORBOARD set to anything but '', 0, false or no."""
    return flag or os.environ.get(ENV, "").strip().lower() not in ("", "0", "false", "no")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def group_of(record: dict[str, Any], sep: str = ", ", eq: str = "=") -> str:
    """The text fields of a metrics line name the series it belongs to (method=gd, scale=0.05)."""
    return sep.join(f"{k}{eq}{v}" for k, v in record.items() if isinstance(v, str))


def scalars_of(record: dict[str, Any], line: int) -> list[tuple[str, float, int]]:
    """(tag, value, step) of each finite numeric field of one metrics line (`line`: its number, the step when
    it has none). TensorBoard tags keep only [A-Za-z0-9_./-], so the series reads method_gd."""
    step = record.get("step", line)
    step = int(step) if is_number(step) and math.isfinite(step) else line
    group = group_of(record, sep="/", eq="_")
    return [(f"{key}/{group}" if group else key, float(value), step) for key, value in record.items()
            if key not in AXES and is_number(value) and math.isfinite(value)]


class LiveBoard:
    """An event-file writer for one run; `log(record)` as each metrics line is written, `close()` at the end."""

    def __init__(self, logdir: Path):
        self.check_installed()
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=str(logdir), flush_secs=FLUSH_S)
        self.lines = 0

    @staticmethod
    def check_installed() -> None:
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            from nnlab.core.errors import UserError

            raise UserError("--tensorboard needs tensorboardX: pip install 'nnlab[tensorboard]'") from None

    def log(self, record: dict[str, Any]) -> None:
        for tag, value, step in scalars_of(record, self.lines):
            self.writer.add_scalar(tag, value, step)
        self.lines += 1

    def close(self) -> None:
        self.writer.close()

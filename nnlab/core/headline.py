"""Small helpers for named numbers: `slug` (a label as a name), `is_number`, `finite` and `split_name`.

A run's numbers are its command's `numbers(summary)` (stable dotted names such as `gd.final_loss`), read
through core.record.RunRecord.numbers; a name's last part is the quantity, the rest says of what.
"""

from __future__ import annotations

import math
import re
from typing import Any

_SLUG = re.compile(r"[^A-Za-z0-9_.=:+-]+")


def slug(text: Any) -> str:
    """A column or label as a name: spaces and odd characters become `_`."""
    return _SLUG.sub("_", str(text).strip()).strip("_") or "_"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def split_name(name: str) -> tuple[str, str]:
    """(what, quantity) of a number's name, split at its last `.` or `/`: `gd.final_loss` -> (gd, final_loss),
    `0.05/std_last` -> (0.05, std_last) (a stand-in name); ('', name) for a name with neither."""
    cut = max(name.rfind("."), name.rfind("/"))
    return (name[:cut], name[cut + 1:]) if cut >= 0 else ("", name)


def finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)

"""An exercise, as `nnlab exercise` asks, measures and grades it.

A command declares its exercises in `nnlab/commands/<pkg>/exercises.py` as plain dicts (EXERCISES), so the
command's package imports nothing of this one (commands sit below the tools in the import layers); the catalog
turns each dict into an Exercise here and refuses a dict with a missing or unknown key.

Kinds of answer:
    number  a float; right when within the tolerance of the measured value (or inside the run's own bracket)
    sign    "+" or "-" (a number given is read by its sign); the measured value's sign
    choice  one of `choices`; the run decides which
    order   every one of `choices`, in an order the run measures (e.g. smallest first)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nnlab.core.errors import UserError

KINDS = ("number", "sign", "choice", "order")
SIGNS = {"+": "+", "positive": "+", "-": "-", "negative": "-"}
REQUIRED = ("id", "question", "question_zh", "kind", "settings", "answer", "flip", "hint", "hint_zh",
            "explanation", "explanation_zh")
OPTIONAL = ("unit", "unit_zh", "low", "high", "choices", "tolerance", "tolerance_note", "quick")


@dataclass(frozen=True)
class Tolerance:
    """What counts as right for a number: |p - m| <= abs + rel * |m|, or, with `factor`, p and m of one sign
    and max(p/m, m/p) <= factor (for answers that span orders of magnitude)."""

    abs: float = 0.0
    rel: float = 0.0
    factor: float | None = None

    def holds(self, predicted: float, measured: float) -> bool:
        if not (math.isfinite(predicted) and math.isfinite(measured)):
            return False
        if self.factor is not None:
            if predicted == measured:
                return True
            if predicted * measured <= 0:
                return False
            return max(predicted / measured, measured / predicted) <= self.factor
        return abs(predicted - measured) <= self.abs + self.rel * abs(measured)

    def text(self) -> str:
        if self.factor is not None:
            return f"within a factor {self.factor:g}"
        relative = f"{self.rel:.0%}" if self.rel >= 0.01 else f"{self.rel:g} x |answer|"
        parts = [f"± {self.abs:g}" if self.abs else "", f"± {relative}" if self.rel else ""]
        return " + ".join(p for p in parts if p) or "exact"

    def as_json(self) -> dict[str, float | None]:
        return {"abs": self.abs, "rel": self.rel, "factor": self.factor}


@dataclass(frozen=True)
class Measured:
    """What a run says the answer is. `low`/`high`: a bracket the run itself resolves (e.g. the last learning
    rate that converged and the first that diverged); a number inside it is right, whatever the tolerance. A
    command's answer returns a plain value, or {"value": v, "low": a, "high": b} for a bracket."""

    value: Any
    low: float | None = None
    high: float | None = None

    def as_json(self) -> Any:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        if isinstance(value, float) and not math.isfinite(value):  # a diverged run's answer: JSON has no NaN
            value = None
        if self.low is None and self.high is None:
            return value
        return {"value": value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Exercise:
    """One question whose answer a run of `section`'s command measures."""

    id: str  # <command>.<slug>, stable
    section: str  # the command (the lecture's section) that measures it
    question: str
    question_zh: str
    kind: str  # one of KINDS
    settings: tuple[str, ...]  # `key=value` for the measuring run (on top of --quick unless quick is False)
    answer: Callable[[Any], Any]  # (run: core.record.RunRecord) -> the value, or a Measured
    flip: tuple[str, ...]  # a setting, on top of `settings`, that changes the answer (its test runs it)
    hint: str  # where in the lecture to look
    hint_zh: str
    explanation: str  # shown after the answer
    explanation_zh: str
    unit: str = ""
    unit_zh: str = ""
    low: float | None = None  # the range a number prediction is asked in (refused outside it)
    high: float | None = None
    choices: tuple[str, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    tolerance_note: str = ""  # how the tolerance was chosen (seed spread, measured how)
    quick: bool = True  # the run uses the command's --quick values under `settings`

    @property
    def run_key(self) -> tuple[str, bool, tuple[str, ...]]:
        """Exercises with the same key share one run."""
        return (self.section, self.quick, self.settings)

    def measure(self, run: Any) -> Measured:
        """The answer read from `run`; a name the run lacks fails loudly, naming the exercise."""
        try:
            value = self.answer(run)
        except KeyError as exc:
            raise RuntimeError(f"exercise {self.id}: the run {run.path} has no value {exc}; the exercise reads a "
                               "name its command no longer writes") from None
        if isinstance(value, Mapping):  # a command's bracket: {"value": v, "low": a, "high": b}
            value = Measured(value["value"], value.get("low"), value.get("high"))
        measured = value if isinstance(value, Measured) else Measured(value)
        if self.kind == "number":
            measured = Measured(_float(measured.value), measured.low, measured.high)
        elif self.kind == "sign":
            measured = Measured("+" if _float(measured.value) > 0 else "-")
        elif self.kind == "order":
            measured = Measured(tuple(measured.value))
        return measured

    def parse(self, raw: Any) -> Any:
        """A prediction as the grader compares it; UserError (one line) for one that cannot be."""
        where = f"{self.id}: "
        if self.kind == "number":
            if isinstance(raw, bool) or raw is None:
                raise UserError(f"{where}expected a number, got {raw!r}")
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise UserError(f"{where}expected a number, got {raw!r}") from None
            if not math.isfinite(value):
                raise UserError(f"{where}expected a finite number, got {raw!r}")
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise UserError(f"{where}{value:g} is outside the range {self.range_text()}")
            return value
        if self.kind == "sign":
            if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw != 0:
                return "+" if raw > 0 else "-"
            sign = SIGNS.get(str(raw).strip().lower())
            if sign is None:
                raise UserError(f"{where}expected + or -, got {raw!r}")
            return sign
        if self.kind == "choice":
            text = str(raw).strip()
            if text not in self.choices:
                raise UserError(f"{where}expected one of {', '.join(self.choices)}, got {raw!r}")
            return text
        items = raw if isinstance(raw, list) else str(raw).replace("<", ",").split(",")
        order = tuple(str(i).strip() for i in items)
        if sorted(order) != sorted(self.choices):
            raise UserError(f"{where}expected every one of {', '.join(self.choices)} once, in an order, got {raw!r}")
        return order

    def right(self, predicted: Any, measured: Measured) -> bool:
        if predicted is None:
            return False
        if self.kind != "number":
            return predicted == measured.value
        if measured.low is not None and measured.high is not None and measured.low <= predicted <= measured.high:
            return True
        return self.tolerance.holds(predicted, measured.value)

    def tolerance_text(self, measured: Measured | None = None) -> str:
        if self.kind != "number":
            return "exact"
        text = self.tolerance.text()
        if measured is not None and measured.low is not None and measured.high is not None:
            text += f", or in [{measured.low:.4g}, {measured.high:.4g}]"
        return text

    def range_text(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}]"

    def listing(self) -> dict[str, Any]:
        """What `--list --json` shows."""
        return {"id": self.id, "section": self.section, "question": self.question, "question_zh": self.question_zh,
                "kind": self.kind, "unit": self.unit, "unit_zh": self.unit_zh, "choices": list(self.choices),
                "range": [self.low, self.high] if self.kind == "number" else None,
                "tolerance": self.tolerance_text(), "settings": list(self.settings), "quick": self.quick,
                "hint": self.hint, "hint_zh": self.hint_zh}


def from_dict(section: str, spec: Mapping[str, Any]) -> Exercise:
    """An Exercise from a command's dict; a RuntimeError (a bug in the command, not bad input) for a bad one."""
    where = f"nnlab/commands/{section}/exercises.py: {spec.get('id', '?')}"
    missing = [k for k in REQUIRED if k not in spec]
    unknown = [k for k in spec if k not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise RuntimeError(f"{where}: missing keys {missing}, unknown keys {unknown}")
    if not str(spec["id"]).startswith(f"{section}."):
        raise RuntimeError(f"{where}: the id must start with '{section}.'")
    if spec["kind"] not in KINDS:
        raise RuntimeError(f"{where}: kind must be one of {KINDS}")
    if spec["kind"] in ("choice", "order") and len(spec.get("choices", ())) < 2:
        raise RuntimeError(f"{where}: a {spec['kind']} needs at least two choices")
    tolerance = spec.get("tolerance") or {}
    fields = {k: spec[k] for k in REQUIRED + OPTIONAL if k in spec and k != "tolerance"}
    fields |= {"settings": tuple(spec["settings"]), "flip": tuple(spec["flip"]),
               "choices": tuple(spec.get("choices", ()))}
    return Exercise(section=section, tolerance=Tolerance(**tolerance), **fields)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


__all__ = ["KINDS", "Exercise", "Measured", "Tolerance", "from_dict"]

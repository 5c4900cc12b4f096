"""The terminal side of `nnlab exercise`: the rich prompts that take a prediction, and the tables that show
predicted against measured, ✓/✗ and the explanation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnlab.core.errors import UserError
from nnlab.core.i18n import current, tr
from nnlab.exercise.model import Exercise

SKIP = ""  # an empty answer leaves the exercise unanswered


def asked(e: Exercise) -> str:
    """How the prompt describes what it wants, in the current language."""
    if e.kind == "number":
        unit = tr(e.unit, e.unit_zh or e.unit)
        return tr(f"a number in {e.range_text()}", f"{e.range_text()} 中的一个数") + (f", {unit}" if unit else "")
    if e.kind == "sign":
        return tr("+ or -", "+ 或 -")
    if e.kind == "choice":
        return tr("one of: ", "其中之一：") + ", ".join(e.choices)
    return tr("all of ", "全部：") + ", ".join(e.choices) + tr(", comma-separated, in order", "，用逗号分隔，按顺序")


def ask(exercises: list[Exercise], console: Any) -> dict[str, Any]:
    """Ask each exercise on `console`; a prediction that does not parse is asked again. End of input (no
    terminal, a closed pipe) is a UserError pointing at --answers."""
    from rich.markup import escape
    from rich.prompt import Prompt

    predictions: dict[str, Any] = {}
    for i, e in enumerate(exercises, 1):
        console.print(f"\n[bold]{i}/{len(exercises)} · {escape(e.id)}[/]")
        if current() == "zh":
            console.print(escape(e.question_zh))
            console.print(f"[dim]提示：{escape(e.hint_zh)}[/]")
        else:
            console.print(escape(e.question))
            console.print(f"[dim]{escape(e.question_zh)}[/]")
            console.print(f"[dim]hint: {escape(e.hint)}[/]")
        prompt = tr(f"your prediction ({escape(asked(e))}; empty to skip)", f"你的预测（{escape(asked(e))}；留空跳过）")
        while True:
            try:
                raw = Prompt.ask(prompt, console=console, default=SKIP, show_default=False)
            except EOFError:
                raise UserError("no answer given (end of input); for scripts use --answers FILE.yaml") from None
            if raw.strip() == SKIP:
                predictions[e.id] = None
                break
            try:
                predictions[e.id] = e.parse(raw)
                break
            except UserError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
    return predictions


def results_table(data: Mapping[str, Any]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    from nnlab.exercise.grade import text

    t = Table(title=tr("Predicted against measured", "预测与测量"), title_justify="left", show_edge=False,
              pad_edge=False)
    for col in ("", tr("exercise", "练习"), tr("predicted", "预测"), tr("measured", "测得"), tr("tolerance", "容差")):
        t.add_column(col)
    for eid, r in data["exercises"].items():
        mark = "[green]✓[/]" if r["right"] else "[red]✗[/]"
        measured = r["measured"]["value"] if isinstance(r["measured"], dict) else r["measured"]
        shown = escape(text(measured)) if r["error"] is None else f"[red]{escape(r['error'])}[/]"
        t.add_row(mark, escape(eid), escape(text(r["prediction"]) or "—"), shown, escape(r["tolerance"]))
    return t


def explanations(exercises: list[Exercise], console: Any) -> None:
    from rich.markup import escape

    for e in exercises:
        console.print(f"[bold]{escape(e.id)}[/]: {escape(tr(e.explanation, e.explanation_zh))}", soft_wrap=True)


def listing_table(exercises: list[Exercise]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=tr(f"{len(exercises)} exercises", f"{len(exercises)} 道练习"), title_justify="left",
              show_edge=False, pad_edge=False)
    t.add_column("id", no_wrap=True)
    for col in (tr("kind", "类型"), tr("unit", "单位"), tr("question", "问题")):
        t.add_column(col)
    for e in exercises:
        unit = tr(e.unit, e.unit_zh or e.unit) if e.kind == "number" else ", ".join(e.choices) if e.kind != "sign" \
            else "+/-"
        t.add_row(escape(e.id), e.kind, escape(unit), escape(tr(e.question, e.question_zh)))
    return t


def grade_table(summary: Mapping[str, Any]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{summary['files']} answer files", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("exercise", "answered", "right", "measured", "predictions"):
        t.add_column(col)
    for eid, s in summary["exercises"].items():
        share = "—" if s["share_right"] is None else f"{s['share_right']:.0%}"
        p = s["predictions"]
        spread = (f"median {p['median']:.4g} [{p['min']:.4g}, {p['max']:.4g}]" if "median" in p
                  else ", ".join(f"{k} ×{n}" for k, n in p.get("counts", {}).items()))
        t.add_row(escape(eid), str(s["answered"]), share, escape(s["measured"] or "—"), escape(spread))
    return t


__all__ = ["ask", "explanations", "grade_table", "listing_table", "results_table"]

"""The terminal side of `nnlab exercise`: the rich prompts that take a prediction, and the tables that show
predicted against measured, ✓/✗ and the explanation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnlab.core.errors import UserError
from nnlab.exercise.model import Exercise

SKIP = ""  # an empty answer leaves the exercise unanswered


def asked(e: Exercise) -> str:
    """How the prompt describes what it wants."""
    if e.kind == "number":
        return f"a number in {e.range_text()}" + (f", {e.unit}" if e.unit else "")
    if e.kind == "sign":
        return "+ or -"
    if e.kind == "choice":
        return "one of: " + ", ".join(e.choices)
    return "all of " + ", ".join(e.choices) + ", comma-separated, in order"


def ask(exercises: list[Exercise], console: Any) -> dict[str, Any]:
    """Ask each exercise on `console`; a prediction that does not parse is asked again. End of input (no
    terminal, a closed pipe) is a UserError pointing at --answers."""
    from rich.markup import escape
    from rich.prompt import Prompt

    predictions: dict[str, Any] = {}
    for i, e in enumerate(exercises, 1):
        console.print(f"\n[bold]{i}/{len(exercises)} · {escape(e.id)}[/]")
        console.print(escape(e.question))
        console.print(f"[dim]{escape(e.question_zh)}[/]")
        console.print(f"[dim]hint: {escape(e.hint)}[/]")
        while True:
            try:
                raw = Prompt.ask(f"your prediction ({escape(asked(e))}; empty to skip)", console=console,
                                 default=SKIP, show_default=False)
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

    t = Table(title="Predicted against measured", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("", "exercise", "predicted", "measured", "tolerance"):
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
        console.print(f"[bold]{escape(e.id)}[/]: {escape(e.explanation)}", soft_wrap=True)


def listing_table(exercises: list[Exercise]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{len(exercises)} exercises", title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("id", no_wrap=True)
    for col in ("kind", "unit", "question"):
        t.add_column(col)
    for e in exercises:
        unit = e.unit if e.kind == "number" else ", ".join(e.choices) if e.kind != "sign" else "+/-"
        t.add_row(escape(e.id), e.kind, escape(unit), escape(e.question))
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

"""The Python API: run an experiment or read a finished run, for notebooks and scripts.

    import nnlab
    result = nnlab.run("init", scale=["0.05"], seed=1, out="outputs")
    result.claims[0]["id"], result.path, result.figures
    nnlab.load(result.path).summary == result.summary

Keyword names are the command's config keys (as in its recipe); `recipe=`, `quick=`, `tag=`, `out=`,
`resume=` and `set=` work as on the command line. Bad input raises nnlab.UserError with the message
the CLI prints; nothing heavy is imported until a run starts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError
from nnlab.core.record import RunRecord


class Result(RunRecord):
    """A run, read from its directory (core.record.RunRecord: path, meta, config, summary, metrics, command,
    status, claims, checks, figures, numbers), with what a notebook shows of it."""

    def metrics_frame(self):
        """metrics as a pandas DataFrame (pandas is not a dependency of nnlab: install it to use this)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Result.metrics_frame() needs pandas (pip install pandas); "
                              "Result.metrics is the same data as a list of dicts") from None
        return pd.DataFrame(self.metrics)

    def headline(self) -> tuple[list[str], list[list[Any]]]:
        from nnlab.core.command import load

        return load(self.command).headline(self.summary)

    def _repr_html_(self) -> str:
        """Jupyter: the headline table, the claims and the figures inline (figures as data URIs)."""
        import base64

        esc = html.escape
        parts = [f"<h4>nnlab {esc(self.command)} · {esc(self.status)}</h4><p><code>{esc(str(self.path))}</code></p>"]
        if self.status not in ("failed", "interrupted"):
            columns, rows = self.headline()
            parts.append(_html_table(columns, rows))
        for title, records in (("Claims", self.claims), ("Sanity checks", self.checks)):
            if records:
                rows = [["✓" if r["holds"] else "✗", r["id"], r["claim"], r["measured"], r["expected"]]
                        for r in records]
                parts.append(f"<h5>{title}</h5>" + _html_table(["", "id", "claim", "measured", "expected"], rows))
        for fig in self.figures:
            data = base64.b64encode(self.png(fig)).decode()
            parts.append(f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%">'
                         f"<figcaption>{esc(fig.name)}</figcaption></figure>")
        return "\n".join(parts)


def _html_table(columns: list[str], rows: Iterable[list[Any]]) -> str:
    from nnlab.core.console import fmt

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def load(run_dir: str | Path) -> Result:
    """Read the run in `run_dir` (finished or not) into a Result: every file now, through core.run_files (a
    link out of the run, a FIFO or an endless file is a UserError, as is a directory that is not a run)."""
    result = Result(run_dir)
    result.read_all()
    return result


def run(command: str, *, recipe: str | Path | None = None, quick: bool = False, out: str | Path | None = None,
        tag: str | None = None, resume: str | Path | None = None, set: Iterable[str] = (),  # noqa: A002
        report: bool = False, plots: bool = True, **config: Any) -> Result:
    """Run `nnlab <command>` in this process and return its Result.

    `config` keys are the command's config keys (`batch_size` or "batch-size" via **{...}); values are
    Python values or the strings the CLI would take. `report=True` prints the tables the CLI prints;
    `plots=False` skips the figures (as `--no-plots`: numbers only, `nnlab redraw` draws them later).
    Ctrl-C closes the run as interrupted and raises KeyboardInterrupt.
    """
    from nnlab.core.runner import Request, RunInterrupted, execute

    argv = ["nnlab.run", command, *(f"{k}={json.dumps(v, default=str)}" for k, v in config.items())]
    request = Request(command, config, recipe=recipe, quick=quick, set_pairs=tuple(set), out=out, tag=tag,
                      resume=resume, argv=argv, draw=bool(plots))
    try:
        outcome = execute(request, report=report)
    except RunInterrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
    return load(outcome.path)


__all__ = ["Result", "UserError", "load", "run"]

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
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError
from nnlab.core.record import RAN, RunRecord
from nnlab.core.values import excerpt


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

        from nnlab.core.console import failure

        esc = html.escape
        parts = [f"<h4>nnlab {esc(self.command)} · {esc(self.status)}</h4><p><code>{esc(str(self.path))}</code></p>"]
        if self.status in RAN:  # a running, abandoned, failed or interrupted run has no headline to show
            columns, rows = self.headline()
            parts.append(_html_table(columns, rows))
        for title, records in (("Claims", self.claims), ("Sanity checks", self.checks)):
            if records:
                rows = [["✓" if r["holds"] else "✗", r["id"], " ".join(filter(None, (r["claim"], failure(r)))),
                         r["measured"], r["expected"]] for r in records]
                parts.append(f"<h5>{title}</h5>" + _html_table(["", "id", "claim", "measured", "expected"], rows))
        for fig in self.figures:
            data = base64.b64encode(self.png(fig)).decode()
            parts.append(f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%">'
                         f"<figcaption>{esc(fig.name)}</figcaption></figure>")
        return "\n".join(parts)


def _html_table(columns: list[str], rows: Iterable[list[Any]]) -> str:
    from nnlab.core.console import fmt

    left = 'style="text-align:left"'  # notebooks right-align table cells by default: prose reads badly so
    head = "".join(f"<th {left}>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td {left}>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def load(run_dir: str | Path) -> Result:
    """Read the run in `run_dir` (finished or not) into a Result: every file now, through core.run_files (a
    link out of the run, a FIFO or an endless file is a UserError, as is a directory that is not a run)."""
    _check_path("run_dir", run_dir, required=True)
    result = Result(run_dir)
    result.read_all()
    return result


# What the CLI's parser guarantees its callback, checked here for a caller who is Python: a wrong type is a
# UserError in one line (the CLI's message style), never a TypeError from deep inside the runner.

def _check_path(name: str, value: Any, *, required: bool = False) -> None:
    """A str or os.PathLike of str (bytes paths are not supported), or None where not `required`."""
    if value is None and not required:
        return
    if isinstance(value, str) or (isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)):
        return
    raise UserError(f"{name}: expected a path (str or pathlib.Path), got {excerpt(value)}")


def _check_arguments(command: Any, recipe: Any, quick: Any, out: Any, tag: Any, resume: Any, set_pairs: Any,
                     report: Any, plots: Any) -> tuple[str, ...]:
    """Raise UserError for an argument of the wrong type; the `set` pairs as a tuple of str."""
    if not isinstance(command, str):
        raise UserError(f"command: expected a command name (a str such as 'init'), got {excerpt(command)}")
    for name, value in (("recipe", recipe), ("out", out), ("resume", resume)):
        _check_path(name, value)
    if tag is not None and not isinstance(tag, str):
        raise UserError(f"tag: expected a str, got {excerpt(tag)}")
    for name, value in (("quick", quick), ("report", report), ("plots", plots)):
        if not isinstance(value, bool):
            raise UserError(f"{name}: expected True or False, got {excerpt(value)}")
    if isinstance(set_pairs, (str, bytes)) or not isinstance(set_pairs, Iterable) or isinstance(set_pairs, Mapping):
        raise UserError(f"set: expected a list of 'key=value' texts, got {excerpt(set_pairs)}")
    pairs = tuple(set_pairs)
    for pair in pairs:
        if not isinstance(pair, str):
            raise UserError(f"set: expected 'key=value' texts, got {excerpt(pair)}")
    return pairs


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

    set_pairs = _check_arguments(command, recipe, quick, out, tag, resume, set, report, plots)
    argv = ["nnlab.run", command, *(f"{k}={json.dumps(v, default=str)}" for k, v in config.items())]
    request = Request(command, config, recipe=recipe, quick=quick, set_pairs=set_pairs, out=out, tag=tag,
                      resume=resume, argv=argv, draw=plots)
    try:
        outcome = execute(request, report=report)
    except RunInterrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
    return load(outcome.path)


__all__ = ["Result", "UserError", "load", "run"]

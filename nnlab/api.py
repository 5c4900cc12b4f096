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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.core.errors import UserError


@dataclass
class Result:
    """A finished run, read from its directory."""

    path: Path
    meta: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: list[dict[str, Any]]  # metrics.jsonl, one dict per logged line

    @property
    def command(self) -> str:
        return self.meta.get("command", "?")

    @property
    def status(self) -> str:
        return self.summary.get("status", self.meta.get("status", "?"))

    @property
    def claims(self) -> list[dict[str, Any]]:
        return list(self.summary.get("claims", []))

    @property
    def checks(self) -> list[dict[str, Any]]:
        return list(self.summary.get("checks", []))

    @property
    def figures(self) -> list[Path]:
        """plots/*.png that are the run's own regular files (links out of the run are left out)."""
        from nnlab.core import run_files

        return run_files.figures(self.path)[0]

    def metrics_frame(self):
        """metrics as a pandas DataFrame (pandas is not a dependency of nnlab: install it to use this)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Result.metrics_frame() needs pandas (pip install pandas); "
                              "Result.metrics is the same data as a list of dicts") from None
        return pd.DataFrame(self.metrics)

    def headline(self) -> tuple[list[str], list[list[Any]]]:
        from nnlab.core.experiment import load

        return load(self.command).module.headline(self.summary)

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
        from nnlab.core import run_files

        for fig in self.figures:
            data = base64.b64encode(run_files.read_bytes(self.path, fig, run_files.PNG_CAP)).decode()
            parts.append(f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%">'
                         f"<figcaption>{esc(fig.name)}</figcaption></figure>")
        return "\n".join(parts)


def _html_table(columns: list[str], rows: Iterable[list[Any]]) -> str:
    from nnlab.core.console import fmt

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def load(run_dir: str | Path) -> Result:
    """Read the run in `run_dir` (finished or not) into a Result."""
    import yaml

    from nnlab.core import run_files
    from nnlab.core.run import read_run

    path = Path(run_dir)
    data = read_run(path)
    config_path = path / "config.yaml"
    config = (yaml.safe_load(run_files.read_text(path, config_path, run_files.JSON_CAP))
              if os.path.lexists(config_path) else {})
    return Result(path, data["meta"], config or {}, data["summary"], data["metrics"])


def run(command: str, *, recipe: str | Path | None = None, quick: bool = False, out: str | Path | None = None,
        tag: str | None = None, resume: str | Path | None = None, set: Iterable[str] = (),  # noqa: A002
        report: bool = False, **config: Any) -> Result:
    """Run `nnlab <command>` in this process and return its Result.

    `config` keys are the command's config keys (`batch_size` or "batch-size" via **{...}); values are
    Python values or the strings the CLI would take. `report=True` prints the tables the CLI prints.
    Ctrl-C closes the run as interrupted and raises KeyboardInterrupt.
    """
    from nnlab.core.runner import Request, RunInterrupted, execute

    argv = ["nnlab.run", command, *(f"{k}={json.dumps(v, default=str)}" for k, v in config.items())]
    request = Request(command, config, recipe=recipe, quick=quick, set_pairs=tuple(set), out=out, tag=tag,
                      resume=resume, argv=argv)
    try:
        outcome = execute(request, report=report)
    except RunInterrupted as exc:
        raise KeyboardInterrupt(str(exc)) from None
    return load(outcome.path)


__all__ = ["Result", "UserError", "load", "run"]

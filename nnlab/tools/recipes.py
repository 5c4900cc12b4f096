"""`nnlab recipes [COMMAND]`: the recipes shipped with nnlab, one line each.

\b
    nnlab recipes
    nnlab recipes approx
    nnlab approx --recipe curse            run one by name (from any directory)
    nnlab approx --recipe curse --print-config   see what it sets, without running

A recipe is a YAML file of config keys. Give `--recipe` a path to use your own, or a packaged recipe's name,
with or without its command's prefix (`curse` or `approx-curse`).
"""

from __future__ import annotations

import click

from nnlab.core.errors import UserError


@click.command("recipes", help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.argument("command", required=False)
def recipes(command: str | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from nnlab.core import console
    from nnlab.core.recipes import packaged
    from nnlab.registry import COMMANDS

    if command is not None and command not in COMMANDS:
        raise UserError(f"recipes: unknown command {command!r}; one of {', '.join(COMMANDS)}")
    table = Table(title="recipes shipped with nnlab (--recipe NAME)", title_justify="left", show_edge=False,
                  pad_edge=False)
    for column in ("command", "name", "what it is"):
        table.add_column(column, no_wrap=column != "what it is")
    shown = 0
    for name in [command] if command else COMMANDS:
        for path in packaged(name):
            variant = path.stem.removeprefix(name + "-") if path.stem != name else "(the default)"
            table.add_row(name, escape(variant), escape(first_comment(path.read_text(encoding="utf-8"))))
            shown += 1
    out = console.out if console.out.is_terminal else Console(width=200, highlight=False)
    out.print(table)
    out.print(f"{shown} recipes")


def first_comment(text: str) -> str:
    """The recipe's first comment line, without the `# nnlab <command> ...:` lead-in where it has one."""
    for line in text.splitlines():
        if line.startswith("#"):
            words = line.lstrip("# ").strip()
            head, sep, rest = words.partition(": ")
            return rest if sep and head.startswith("nnlab ") else words
    return ""

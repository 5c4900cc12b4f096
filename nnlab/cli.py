"""The click layer: parse options into a core.runner.Request and hand it to the runner.

Nothing heavy is imported at module level: experiment modules (and with them numpy, torch and
matplotlib) load only when their command runs or shows its help.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import importlib
import signal
import sys
import traceback
import typing
from typing import Any

import click

from nnlab.core.errors import UserError
from nnlab.core.signals import Interrupted
from nnlab.registry import COMMANDS, TOOLS
from nnlab.version import __version__


class Terminated(KeyboardInterrupt):
    """SIGTERM outside a run, raised where it arrives. A KeyboardInterrupt, so whatever cleans up after a Ctrl-C
    (a tool's temporary files, a pool of workers) cleans up after SIGTERM too."""

    signum = signal.SIGTERM


def stopped_line(signum: int) -> str:
    """The one line a signal leaves on stderr."""
    return f"Interrupted ({signal.Signals(signum).name})."


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_raises() -> typing.Iterator[None]:
    """While the CLI runs, SIGTERM raises Terminated (as SIGINT raises KeyboardInterrupt) instead of killing the
    process unannounced; a run installs its own handlers on top (core.run.Signals). A handler someone else set
    is left alone, and the previous one comes back afterwards (tests run the CLI in-process)."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous not in (signal.SIG_DFL, None):
            previous = None
        else:
            signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals are not ours to handle
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def with_debug(command: click.Command) -> click.Command:
    """Every tool takes --debug (main() reads it from argv: the full traceback on errors); one that does not
    declare it gets it here, so an error's "rerun with --debug" works for every command."""
    if not any("--debug" in p.opts for p in command.params):
        command.params.append(click.Option(["--debug"], is_flag=True, expose_value=False,
                                           help="Show the full traceback on errors."))
    return command


def lang_option() -> click.Option:
    """--lang zh|en: the language of what a student reads, for this process and those it starts (core.i18n)."""
    from nnlab.core import i18n

    def chosen(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value and i18n.choose(value) == "zh":
            from nnlab.core import plotting

            plotting.cjk_font()  # a missing font said once, now, before any figure worker starts

    return click.Option(["--lang"], type=click.Choice(i18n.LANGS), default=None, expose_value=False, is_eager=True,
                        callback=chosen, help=i18n.HELP)


# The tools whose output a student reads; the others (doctor, sweep, export...) speak English.
LANG_TOOLS = ("lecture", "report", "exercise", "serve", "redraw")


def with_lang(command: click.Command) -> click.Command:
    if command.name in LANG_TOOLS and not any("--lang" in p.opts for p in command.params):
        command.params.append(lang_option())
    return command


class NnlabGroup(click.Group):
    """A group whose subcommands load lazily and whose every error is one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # SIGINT or SIGTERM (Terminated) in any command or tool: carried past
            # click (which would make it Abort, exit 1) to main(), which exits by the signal's convention
            raise Interrupted(getattr(exc, "signum", signal.SIGINT)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *TOOLS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            return experiment_command(name)
        if name in TOOLS:
            tool = TOOLS[name]
            return with_lang(with_debug(getattr(importlib.import_module(tool.module), tool.attr)))
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the registry, so listing the commands imports none of them.
        rows = [(e.name, e.short_help) for e in COMMANDS.values()]
        rows += [(t.name, t.short_help) for t in TOOLS.values()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            extra.setdefault("obj", {"argv": ["nnlab", *argv]})  # recorded in meta.json
            with sigterm_raises():
                result = super().main(argv, prog_name or "nnlab", standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except Interrupted as exc:
            click.echo(stopped_line(exc.signum), err=True)
            sys.exit(128 + exc.signum)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):  # a signal while click parsed the arguments
                signum = getattr(exc.__context__, "signum", signal.SIGINT)
                click.echo(stopped_line(signum), err=True)
                sys.exit(128 + signum)
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `nnlab` (click >= 8.2): the help, not an error
                click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
                sys.exit(0)
            fail(exc.format_message(), 2, exc if debug else None)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code, exc if debug else None)
        except UserError as exc:
            fail(str(exc), 2, exc if debug else None)
        except Exception as exc:  # a full disk, or a bug (not bad input): say so in one line unless --debug
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                where = f" writing {exc.filename}" if exc.filename else ""
                fail(f"the disk is full (ENOSPC, no space left on device){where}; free some space and rerun", 1,
                     exc if debug else None)
            fail(f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1, exc if debug else None)
        sys.exit(result if isinstance(result, int) else 0)


def fail(message: str, code: int, exc: BaseException | None) -> typing.NoReturn:
    if exc is not None:
        traceback.print_exception(exc)
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group("nnlab", cls=NnlabGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="nnlab")
def cli() -> None:
    """nnlab: the lecture "Neural network basics", one command per claim.

    Each experiment writes config.yaml, meta.json, metrics.jsonl, summary.json and plots/ into a new
    directory outputs/<command>/<time>[-tag]/ and prints whether the lecture's claims held.
    """


def main() -> None:
    """The `nnlab` console script (and `python -m nnlab`)."""
    try:
        with sigterm_raises():  # also while the figure workers start, before click has the arguments
            start_figure_pool(sys.argv[1:])
            cli.main()
    except SystemExit as exc:
        leave(exc.code)
    except KeyboardInterrupt as exc:  # a signal outside cli.main's own handling (the figure pool's start)
        signum = getattr(exc, "signum", signal.SIGINT)
        print(stopped_line(signum), file=sys.stderr)
        leave(128 + signum)


def start_figure_pool(argv: list[str]) -> None:
    """For a command that draws: helper processes import matplotlib on the other core while torch imports here,
    then draw the figures (core.figure_pool)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if (command in COMMANDS or command == "lecture") and not {"-h", "--help", "--no-plots"} & set(argv):
        from nnlab.core import figure_pool

        figure_pool.start()


def leave(code: Any) -> typing.NoReturn:
    """End the process with `code` as sys.exit would, without the interpreter's teardown where that is safe.

    Tearing down torch's and matplotlib's modules after a command takes about 0.5 s of one core (measured:
    `import torch` then exit, 0.53 s; the same with os._exit, 0.02 s). So when no other thread is left,
    the atexit handlers (Ray's shutdown, logging, temporary folders) run, the output is flushed, and the process
    ends at once. With a non-daemon thread still running, Python's own exit (which waits for it) is kept."""
    import atexit
    import contextlib
    import os
    import threading

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): the message to stderr, status 1
        print(code, file=sys.stderr)
        code = 1
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    if "nnlab.core.figure_pool" in sys.modules:
        sys.modules["nnlab.core.figure_pool"].stop()
    atexit._run_exitfuncs()  # what the interpreter would run at exit, before its teardown
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`nnlab runs | head`) or stream
            stream.flush()
    os._exit(code)


# ----------------------------------------------------------------------------------------------------
# Experiment commands, built from their Config dataclass


def _default_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def config_options(config_cls: type) -> list[click.Option]:
    """One option per config field: `--batch-size` for batch_size, repeatable for lists, --x/--no-x for bools.

    Options default to None (not given), so only what the user typed overrides the recipe; values stay
    strings here and are converted and checked by nnlab.core.config, which words every error alike.
    """
    from nnlab.core.config import ExperimentConfig, field_types

    shared = {f.name for f in dataclasses.fields(ExperimentConfig)}
    fields = sorted(dataclasses.fields(config_cls), key=lambda f: f.name in shared)  # shared ones last
    types_by_key = field_types(config_cls)
    options = []
    for f in fields:
        tp = types_by_key[f.name]
        flag = "--" + f.name.replace("_", "-")
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        help_text = f"{f.metadata.get('help', '')}  [default: {_default_text(default)}]"
        if tp is bool:
            options.append(click.Option([f"{flag}/--no-{flag[2:]}"], default=None, help=help_text))
            continue
        is_list = typing.get_origin(tp) is list
        metavar = f.metadata["choices"] and "|".join(f.metadata["choices"])
        metavar = metavar if metavar and len(metavar) < 30 else f.name.split("_")[-1].upper()
        options.append(click.Option(
            [flag], multiple=is_list, default=None, type=str, metavar=metavar,
            help=help_text + (" (repeatable)" if is_list else ""),
        ))
    return options


SHARED_OPTIONS = [
    click.Option(["--recipe"], metavar="FILE", help="YAML recipe of config keys (see recipes/).  [default: none]"),
    click.Option(["--set", "set_pairs"], multiple=True, metavar="KEY=VALUE",
                 help="Override any config key, after every other option (repeatable)."),
    click.Option(["--out"], metavar="DIR", help="Where run directories go: DIR/<command>/<time>[-tag]/.  "
                 "[default: outputs]"),
    click.Option(["--tag", "--name", "tag"], metavar="NAME", help="A name for the run, the suffix of its directory's "
                 "name (outputs/init/<time>-NAME), shown by runs, compare and the report.  [default: none]"),
    click.Option(["--quick"], is_flag=True, help="A seconds-long smoke version of the run."),
    click.Option(["--no-plots"], is_flag=True, help="Skip the figures: numbers, claims and files only (faster; "
                 "`nnlab redraw RUN_DIR` draws them later).  [default: off]"),
    click.Option(["--tensorboard"], is_flag=True, help="Write TensorBoard event files while the run trains, into "
                 "RUN_DIR/tensorboard/ (`tensorboard --logdir outputs`; also NNLAB_TENSORBOARD=1).  [default: off]"),
    click.Option(["--print-config"], is_flag=True, help="Print the resolved config (a recipe: defaults < --recipe "
                 "< --quick < options < --set) and exit; nothing runs, no directory is made."),
    click.Option(["--debug"], is_flag=True, help="Show the full traceback on errors."),
]


def experiment_command(name: str) -> click.Command:
    from nnlab.core.command import load

    spec = load(name)
    field_names = {f.name for f in dataclasses.fields(spec.config)}

    def callback(recipe: str | None, set_pairs: tuple[str, ...], out: str | None, tag: str | None, quick: bool,
                 no_plots: bool, tensorboard: bool, print_config: bool, debug: bool, resume: str | None = None,
                 **options: Any) -> None:
        from nnlab.core.runner import Request, RunInterrupted, execute

        given = {k: v for k, v in options.items() if k in field_names and v not in (None, ())}
        argv = (click.get_current_context().obj or {}).get("argv", ["nnlab", *sys.argv[1:]])
        request = Request(spec.name, given, recipe=recipe, quick=quick, set_pairs=set_pairs, out=out, tag=tag,
                          resume=resume, argv=argv, draw=not no_plots, tensorboard=tensorboard)
        if print_config:
            from nnlab.core.config import to_recipe_yaml
            from nnlab.core.runner import build_config

            click.echo(to_recipe_yaml(build_config(spec, request), spec.name), nl=False)
            return
        try:
            execute(request)
        except RunInterrupted as exc:
            from nnlab.core import console

            console.err.print(str(exc), soft_wrap=True, markup=False)
            sys.exit(128 + exc.signum)

    params = config_options(spec.config) + SHARED_OPTIONS + [lang_option()]
    if spec.resumable:
        params.append(click.Option(["--resume"], metavar="RUN_DIR", help="Continue an interrupted run from its "
                                   "checkpoint, in its own directory.  [default: none]"))
    return click.Command(
        spec.name, callback=callback, params=params, help=spec.help, short_help=COMMANDS[name].short_help,
        context_settings=CONTEXT,
    )


def get_command_params(name: str) -> list[click.Parameter]:
    """The options of experiment `name` (for tests that every one is documented)."""
    return experiment_command(name).params

"""Predict, then measure: the lecture's exercises, graded against your own runs.

\b
  nnlab exercise init                         ask init's exercises, run the measurements, grade them
  nnlab exercise --answers mine.yaml          the same without prompts (a YAML mapping: exercise id -> prediction)
  nnlab exercise init --answers mine.yaml --set width=1024    graded on another setting: the answers move
  nnlab exercise --list [SECTION...] [--json] every exercise: id, section, question, kind, unit
  nnlab exercise --grade answers/ a.yaml      a class's answer files -> grades.csv and summary.json
  nnlab exercise --grade answers/ --against outputs/exercise/<time>   graded on measurements made earlier

SECTION is a command name (init, optimize, ...) or an exercise id; none: every exercise (with --answers: those
the file answers). Each measurement is a normal run (--quick unless an exercise says otherwise, no figures),
shared by the exercises that read it, under <out>/exercise/<time>/runs/. The exercise directory holds
answers.yaml, results.json (per id: prediction, measured answer, tolerance, right; the score) and, for
--grade, grades.csv and summary.json. Bad input (an unknown id, a prediction of the wrong kind or outside its
range, a --set key no command takes) is refused in one line, exit 2, before any directory is made.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from nnlab.core.errors import UserError


@click.command("exercise", help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("names", nargs=-1, metavar="[SECTION...] | --grade DIR_OR_FILES...")
@click.option("--answers", "answers_file", metavar="FILE.yaml", default=None,
              help="Predictions from this YAML file instead of prompts.  [default: ask on the terminal]")
@click.option("--grade", is_flag=True, help="Grade the answer files (or directories of them) given as arguments "
              "into grades.csv and summary.json.  [default: off]")
@click.option("--against", metavar="EXERCISE_DIR", default=None,
              help="With --grade: use the measurements of this exercise directory (its results.json) instead "
                   "of running them again.  [default: measure anew]")
@click.option("--list", "list_only", is_flag=True, help="List the exercises and exit.  [default: off]")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.  [default: a table]")
@click.option("--set", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Change a setting of every measuring run whose command has KEY (COMMAND:KEY=VALUE for one "
                   "command), over the exercise's own settings (repeatable).  [default: none]")
@click.option("--full", is_flag=True, help="Measure on the full runs, not --quick ones (slower; some answers "
              "then differ from the texts' quick-run numbers).  [default: off]")
@click.option("--out", default="outputs", show_default=True, metavar="DIR",
              help="The exercise directory goes to DIR/exercise/<time>[-tag]/.")
@click.option("--tag", default=None, metavar="TAG", help="Suffix for the exercise directory's name.  "
              "[default: none]")
@click.pass_context
def exercise(ctx: click.Context, names: tuple[str, ...], answers_file: str | None, grade: bool, against: str | None,
             list_only: bool, as_json: bool, set_pairs: tuple[str, ...], full: bool, out: str,
             tag: str | None) -> None:
    from nnlab.core.runner import RunInterrupted

    if sum([grade, list_only, answers_file is not None]) > 1:
        raise UserError("--grade, --list and --answers do not go together; give one")
    if (against is not None) and not grade:
        raise UserError("--against goes with --grade")
    if as_json and not list_only:
        raise UserError("--json goes with --list")
    if not out:
        raise UserError("--out: give a directory")
    argv = (ctx.obj or {}).get("argv", ["nnlab", "exercise", *sys.argv[1:]])
    try:
        if list_only:
            return list_exercises(names, as_json)
        if grade:
            return grade_files(names, against, set_pairs, full, out, tag, argv)
        return run_exercises(names, answers_file, set_pairs, full, out, tag, argv)
    except RunInterrupted as exc:
        from nnlab.core import console

        console.err.print(str(exc), soft_wrap=True, markup=False)
        sys.exit(128 + exc.signum)


def list_exercises(names: tuple[str, ...], as_json: bool) -> None:
    import json

    from nnlab.core import console
    from nnlab.exercise import catalog, show

    chosen = catalog.select(names)
    if as_json:
        click.echo(json.dumps([e.listing() for e in chosen], indent=2, ensure_ascii=False))
    else:
        console.out.print(show.listing_table(chosen))


def chosen_and_predictions(names: tuple[str, ...], answers_file: str | None) -> tuple[list[Any], dict[str, Any] | None]:
    """The exercises asked and, with --answers, their predictions (read and checked whole)."""
    from nnlab.exercise import catalog
    from nnlab.exercise.answers import read_answers

    if answers_file is None:
        return catalog.select(names), None
    if not answers_file:
        raise UserError("--answers: give a file name")
    known = catalog.by_id()
    predictions = read_answers(answers_file, known)
    if names:
        chosen = catalog.select(names)
        outside = [i for i in predictions if i not in {e.id for e in chosen}]
        if outside:
            raise UserError(f"{answers_file}: {outside[0]} is not among the exercises asked ({' '.join(names)})")
    else:
        chosen = [e for e in known.values() if e.id in predictions]
        if not chosen:
            raise UserError(f"{answers_file}: answers no exercise; `nnlab exercise --list` shows their ids")
    return chosen, predictions


def run_exercises(names: tuple[str, ...], answers_file: str | None, set_pairs: tuple[str, ...], full: bool,
                  out: str, tag: str | None, argv: list[str]) -> None:
    from nnlab.core import console
    from nnlab.core.run import check_tag
    from nnlab.exercise import measure, results, show

    check_tag(tag)
    chosen, predictions = chosen_and_predictions(names, answers_file)
    plans = measure.plan(chosen, set_pairs, full)  # every config resolved before anything is asked or made
    if predictions is None:
        predictions = show.ask(chosen, console.out)
    directory = results.claim(out, tag)
    console.err.print(f"exercise directory {directory}", soft_wrap=True, markup=False)
    results.write_answers(directory, predictions)
    outcomes = measure.measure(chosen, directory / "runs", plans=plans, on_run=lambda p: console.err.print(
        f"measuring: nnlab {p.command} {'--quick ' if p.quick else ''}{' '.join(p.set_pairs)}".rstrip(),
        soft_wrap=True, markup=False))
    context = {"argv": argv, "set": list(set_pairs), "full": full}
    data = results.results(chosen, predictions, outcomes, directory, context)
    path = results.write_results(directory, data)
    console.out.print(show.results_table(data))
    show.explanations(chosen, console.out)
    score = data["score"]
    console.out.print(f"score {score['right']}/{score['total']}", markup=False)
    console.out.print(str(path), soft_wrap=True, markup=False)


def grade_files(paths: tuple[str, ...], against: str | None, set_pairs: tuple[str, ...], full: bool, out: str,
                tag: str | None, argv: list[str]) -> None:
    import json

    from nnlab.core import atomic, console
    from nnlab.core.run import check_tag
    from nnlab.exercise import catalog, grade, measure, results, show
    from nnlab.exercise.answers import answer_files, read_answers

    check_tag(tag)
    if not paths:
        raise UserError("--grade: give answer files or directories of them")
    known = catalog.by_id()
    files = {p: read_answers(p, known) for p in answer_files(paths)}  # every file checked before any is graded
    answered = {i for predictions in files.values() for i in predictions}
    chosen = [e for e in known.values() if e.id in answered]
    if not chosen:
        raise UserError("--grade: the files answer no exercise")
    if against is not None:
        if set_pairs or full:
            raise UserError("--against grades on measurements already made: --set and --full do not apply")
        measured = grade.measured_from_results(results.read_results(against), known)
        missing = [e.id for e in chosen if e.id not in measured]
        if missing:
            raise UserError(f"--against {against}: {missing[0]} was not measured there"
                            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        plans = None
    else:
        plans = measure.plan(chosen, set_pairs, full)
    directory = results.claim(out, tag)
    console.err.print(f"exercise directory {directory}", soft_wrap=True, markup=False)
    if plans is not None:
        outcomes = measure.measure(chosen, directory / "runs", plans=plans)
        data = results.results(chosen, {}, outcomes, directory, {"argv": argv, "set": list(set_pairs), "full": full})
        results.write_results(directory, data)
        measured = {i: o.measured for i, o in outcomes.items() if o.measured is not None}
    rows = grade.grade(files, chosen, measured)
    summary = grade.summary(rows, chosen, len(files))
    csv_path, summary_path = directory / "grades.csv", directory / "summary.json"
    atomic.write_text(summary_path, json.dumps({"argv": argv, "against": against, **summary}, indent=2,
                                               ensure_ascii=False, default=str) + "\n")
    atomic.write_text(csv_path, grade.to_csv(rows))
    console.out.print(show.grade_table(summary))
    console.out.print(str(csv_path), soft_wrap=True, markup=False)
    console.out.print(str(summary_path), soft_wrap=True, markup=False)


__all__ = ["exercise"]

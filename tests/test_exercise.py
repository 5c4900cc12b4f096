"""nnlab exercise: the catalog, the grader, every exercise's answer read from a run (a setting flips it), and the
command line (--answers, --set, --grade, --list, prompts, bad input)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import refused

from nnlab.cli import cli
from nnlab.exercise import catalog, measure
from nnlab.exercise.model import Exercise, Measured, Tolerance
from nnlab.registry import COMMANDS

EXERCISES = catalog.all_exercises()
# Exercises whose two runs take more than about two seconds of CPU (measured on the 2-core CI machine's kind: the
# attention model's training, the cost MLPs' timing, the regression's 2000 steps per method): the slow suite's.
SLOW = {"attention", "regularize"} | {"backprop.backward-time-slope"}


def cli_run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=True)


# -- the catalog -------------------------------------------------------------------------------------------------

def test_at_least_25_exercises_over_the_nine_sections_each_with_both_languages():
    assert len(EXERCISES) >= 25
    per = {s: [e for e in EXERCISES if e.section == s] for s in COMMANDS}
    assert all(2 <= len(v) <= 4 for v in per.values()), {s: len(v) for s, v in per.items()}
    assert len({e.id for e in EXERCISES}) == len(EXERCISES)
    for e in EXERCISES:
        for text in (e.question, e.question_zh, e.hint, e.hint_zh, e.explanation, e.explanation_zh):
            assert text.strip(), e.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in e.question_zh + e.hint_zh + e.explanation_zh), e.id
        assert e.kind != "number" or (e.unit and e.unit_zh and e.tolerance_note), e.id


def test_a_command_dict_with_a_typo_is_refused():
    from nnlab.exercise.model import from_dict

    spec = {"id": "init.x", "question": "q", "question_zh": "问", "kind": "number", "settings": [],
            "answer": lambda run: 1.0, "flip": [], "hint": "h", "hint_zh": "提示", "explanation": "e",
            "explanation_zh": "解", "tolerence": {"abs": 1}}
    with pytest.raises(RuntimeError, match="tolerence"):
        from_dict("init", spec)
    with pytest.raises(RuntimeError, match="must start with 'optimize.'"):
        from_dict("optimize", {k: v for k, v in spec.items() if k != "tolerence"})


# -- the grader --------------------------------------------------------------------------------------------------

def number(**fields) -> Exercise:
    base = dict(id="x.y", section="x", question="q", question_zh="问", kind="number", settings=(), flip=(),
                answer=lambda run: 0.0, hint="", hint_zh="", explanation="", explanation_zh="", low=-10.0, high=10.0)
    return Exercise(**(base | fields))


def test_tolerances_absolute_relative_factor_and_bracket():
    assert Tolerance(abs=0.1).holds(1.09, 1.0) and not Tolerance(abs=0.1).holds(1.11, 1.0)
    assert Tolerance(rel=0.1).holds(109.0, 100.0) and not Tolerance(rel=0.1).holds(111.0, 100.0)
    assert Tolerance(factor=3).holds(2.9e-4, 1e-4) and not Tolerance(factor=3).holds(3.1e-4, 1e-4)
    assert not Tolerance(factor=3).holds(-1e-4, 1e-4)  # the other sign is never within a factor
    assert not Tolerance(abs=1).holds(float("nan"), 0.0)
    e = number(tolerance=Tolerance(rel=0.01))
    assert e.right(0.04, Measured(0.052, low=0.039, high=0.07))  # inside the run's own bracket
    assert not e.right(0.08, Measured(0.052, low=0.039, high=0.07))
    assert not e.right(None, Measured(0.0))  # unanswered


def test_predictions_are_parsed_by_kind_and_refused_in_one_line():
    from nnlab.core.errors import UserError

    e = number(low=0.0, high=1.0)
    assert e.parse("0.25") == 0.25
    for bad in ("abc", True, "1.5", "nan"):
        with pytest.raises(UserError):
            e.parse(bad)
    order = number(kind="order", choices=("a", "b", "c"))
    assert order.parse(["c", "a", "b"]) == ("c", "a", "b") and order.parse("c < a < b") == ("c", "a", "b")
    with pytest.raises(UserError, match="every one of"):
        order.parse("a, b")
    choice = number(kind="choice", choices=("pre", "post"))
    assert choice.parse(" pre ") == "pre"
    with pytest.raises(UserError, match="one of pre, post"):
        choice.parse("middle")
    sign = number(kind="sign")
    assert sign.parse("negative") == "-" and sign.parse(3) == "+"


# -- every exercise: its answer comes from a run, and its flip setting changes it ------------------------------

@pytest.fixture(scope="session")
def measured(tmp_path_factory):
    """Measure on demand, one run per distinct setting for the whole session (exercises of a section share)."""
    runs = tmp_path_factory.mktemp("exercise-runs")
    cache: dict[tuple, measure.Outcome] = {}

    def get(e: Exercise, extra: tuple[str, ...] = ()) -> Measured:
        plan = measure.plan([e], extra)[0]
        key = (plan.command, plan.quick, plan.set_pairs)
        if key not in cache:
            cache[key] = {o.exercise.id: o for o in measure.run_plan(plan, runs)}
        outcome = cache[key].get(e.id) or measure.run_plan(plan, runs)[0]
        assert outcome.measured is not None, outcome.error
        return outcome.measured

    return get


def marks(e: Exercise):
    return [pytest.mark.slow] if e.section in SLOW or e.id in SLOW else []


@pytest.mark.parametrize("e", [pytest.param(e, id=e.id, marks=marks(e)) for e in EXERCISES])
def test_the_answer_is_read_from_the_run_and_the_flip_setting_changes_it(e, measured):
    answer = measured(e)
    assert e.right(answer.value, answer)  # the measured value, predicted, is right
    flipped = measured(e, e.flip)
    assert flipped.value != answer.value
    assert not e.right(answer.value, flipped), f"{e.id}: {answer.value} still right after {e.flip}: {flipped}"


# -- the command line --------------------------------------------------------------------------------------------

def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_answers_right_and_wrong_score_as_such_and_another_setting_scores_differently(tmp_path):
    answers = write(tmp_path / "mine.yaml", "init.vanish-001: 1.3e-4\ninit.xavier-last-std: 0.9\n")
    result = cli_run("exercise", "init", "--answers", str(answers), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    [directory] = (tmp_path / "o" / "exercise").iterdir()
    data = json.loads((directory / "results.json").read_text())
    rows = data["exercises"]
    assert rows["init.vanish-001"]["right"] is True and rows["init.xavier-last-std"]["right"] is False
    assert rows["init.saturation-005"]["prediction"] is None and rows["init.saturation-005"]["right"] is False
    assert data["score"] == {"right": 1, "total": 3}
    run = directory / rows["init.vanish-001"]["run"]
    assert (run / "summary.json").is_file() and rows["init.vanish-001"]["measured"] > 0
    assert "score 1/3" in result.stdout

    wide = cli_run("exercise", "init.vanish-001", "--answers", write(tmp_path / "one.yaml",
                   "init.vanish-001: 1.3e-4\n").as_posix(), "--set", "width=2048", "--out", str(tmp_path / "w"))
    assert wide.exit_code == 0, wide.output
    [other] = (tmp_path / "w" / "exercise").iterdir()
    row = json.loads((other / "results.json").read_text())["exercises"]["init.vanish-001"]
    assert row["right"] is False and row["measured"] > 10 * rows["init.vanish-001"]["measured"]
    assert "width=2048" in row["settings"]


def test_grade_five_answer_files_into_one_csv_and_a_summary(tmp_path):
    ids = ["activations.sigmoid-per-layer", "activations.per-layer-order"]
    made = cli_run("exercise", *ids, "--answers", write(tmp_path / "key.yaml", f"{ids[0]}: 0.2\n").as_posix(),
                   "--out", str(tmp_path / "key"))
    assert made.exit_code == 0, made.output
    [key_dir] = (tmp_path / "key" / "exercise").iterdir()
    klass = tmp_path / "class"
    klass.mkdir()
    predictions = [0.21, 0.25, 0.5, 0.19, None]
    for i, p in enumerate(predictions):
        order = "sigmoid, relu, tanh" if i < 2 else "relu, sigmoid, tanh"
        write(klass / f"student{i}.yaml", f"{ids[0]}: {'null' if p is None else p}\n{ids[1]}: {order}\n")
    graded = cli_run("exercise", "--grade", str(klass), "--against", str(key_dir), "--out", str(tmp_path / "g"))
    assert graded.exit_code == 0, graded.output
    [gdir] = (tmp_path / "g" / "exercise").iterdir()
    rows = list(csv.DictReader((gdir / "grades.csv").open()))
    assert len(rows) == 10 and {r["student"] for r in rows} == {f"student{i}" for i in range(5)}
    right = {(r["student"], r["exercise"]): r["right"] for r in rows}
    assert [right[(f"student{i}", ids[0])] for i in range(5)] == ["1", "0", "0", "1", "0"]  # 0.2066 ± 0.02
    summary = json.loads((gdir / "summary.json").read_text())
    assert summary["exercises"][ids[0]]["share_right"] == pytest.approx(2 / 5)
    assert summary["exercises"][ids[0]]["predictions"]["median"] == pytest.approx(0.23)
    assert summary["exercises"][ids[1]]["predictions"]["counts"] == {"sigmoid < relu < tanh": 2,
                                                                      "relu < sigmoid < tanh": 3}

    fresh = cli_run("exercise", "--grade", str(klass / "student0.yaml"), "--out", str(tmp_path / "f"))
    assert fresh.exit_code == 0, fresh.output  # measured anew: the same verdicts
    [fdir] = (tmp_path / "f" / "exercise").iterdir()
    assert [r["right"] for r in csv.DictReader((fdir / "grades.csv").open())] == ["1", "1"]


@pytest.mark.parametrize("text, message", [
    ("init.vanish-01: 0.1\n", "unknown exercise 'init.vanish-01'"),
    ("init.vanish-001: lots\n", "expected a number"),
    ("init.saturation-005: 1.5\n", "outside the range [0, 1]"),
    ("- init.vanish-001\n", "expected a mapping"),
    ("init.vanish-001: [1\n", "not valid YAML"),
    ("activations.per-layer-order: relu, tanh\n", "every one of"),
])
def test_a_bad_answer_file_is_refused_in_one_line_and_nothing_is_made(tmp_path, text, message):
    bad = write(tmp_path / "bad.yaml", text)
    for args in (["--answers", str(bad)], ["--grade", str(write(tmp_path / "ok.yaml", "init.vanish-001: 1\n")),
                                           str(bad)]):
        result = cli_run("exercise", *args, "--out", str(tmp_path / "o"))
        refused(result, message)
        assert not (tmp_path / "o").exists()


def test_bad_options_are_refused_before_any_directory(tmp_path):
    ok = write(tmp_path / "ok.yaml", "init.vanish-001: 1e-4\n")
    out = ["--out", str(tmp_path / "o")]
    refused(cli_run("exercise", "--answers", str(ok), "--set", "widht=5", *out), "no command of the exercises")
    refused(cli_run("exercise", "--answers", str(ok), "--set", "width=0", *out), "nnlab init")
    refused(cli_run("exercise", "optimize", "--answers", str(ok), *out), "not among the exercises asked")
    refused(cli_run("exercise", "inti", "--list"), "did you mean")
    refused(cli_run("exercise", "--grade", str(ok), "--against", str(tmp_path), *out), "no such results file")
    refused(cli_run("exercise", "--list", "--grade"), "do not go together")
    assert not (tmp_path / "o").exists()


def test_list_json_names_every_exercise_with_its_kind_and_unit():
    result = cli_run("exercise", "--list", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [x["id"] for x in listed] == [e.id for e in EXERCISES]
    assert {x["kind"] for x in listed} <= {"number", "sign", "choice", "order"}
    only = json.loads(cli_run("exercise", "--list", "optimize", "--json").stdout)
    assert {x["section"] for x in only} == {"optimize"} and all("question_zh" in x for x in only)


def test_the_prompts_ask_again_after_a_bad_prediction_and_grade_what_was_typed(tmp_path):
    ids = ["backprop.slide-dx", "backprop.slide-dz"]
    result = cli_run("exercise", *ids, "--out", str(tmp_path / "o"), stdin="lots\n192\n\n")
    assert result.exit_code == 0, result.output
    assert "expected a number" in result.stdout  # asked again
    [directory] = (tmp_path / "o" / "exercise").iterdir()
    rows = json.loads((directory / "results.json").read_text())["exercises"]
    assert rows[ids[0]]["right"] is True and rows[ids[1]]["prediction"] is None
    refused(cli_run("exercise", *ids, "--out", str(tmp_path / "eof"), stdin=""), "end of input")
    assert not (tmp_path / "eof").exists()


def test_the_exercise_command_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys; from nnlab.registry import TOOLS; import importlib; t = TOOLS['exercise']; "
            "getattr(importlib.import_module(t.module), t.attr); print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_set_pairs_go_to_the_commands_that_take_them_and_override_the_exercises_settings():
    from nnlab.core.errors import UserError

    sets = measure.split_sets(["seed=3", "init:width=1024", "kappa=5"], ["init", "optimize"])
    assert sets == {"init": ["seed=3", "width=1024"], "optimize": ["seed=3", "kappa=5"]}
    with pytest.raises(UserError, match="not a section of the exercises asked"):
        measure.split_sets(["approx:widths=4"], ["init"])
    assert measure.merged(["scale=0.01", "width=512"], ["width=1024"]) == ("scale=0.01", "width=1024")

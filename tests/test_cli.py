"""The CLI as users meet it: help everywhere, light start-up, one-line errors, a smoke run of every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import HUNG_S, refused

from nnlab.cli import cli
from nnlab.core.config import Layer, load_recipe, resolve
from nnlab.registry import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
EVERY_COMMAND = cli.list_commands(None)  # experiments and tools


def test_top_level_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from nnlab.cli import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "print('HEAVY=' + ','.join(m for m in ('torch', 'numpy', 'matplotlib', 'yaml') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Commands:" in out
    assert out.strip().splitlines()[-1] == "HEAVY="  # none of them loaded


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_every_command_has_help(invoke, command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.stderr
    assert f"Usage: nnlab {command}" in result.output


def test_top_help_lists_every_command(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    for command in EVERY_COMMAND:
        assert command in result.output


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_is_documented_with_its_default(command):
    import dataclasses

    from nnlab.cli import get_command_params
    from nnlab.core.command import load

    for f in dataclasses.fields(load(command).config):
        assert len(f.metadata.get("help", "")) > 15, f"nnlab {command}: config key {f.name} has no real help"
    for param in get_command_params(command):
        assert param.help and len(param.help) > 15, f"nnlab {command} {param.opts[0]} has no real help"
        if param.name not in ("set_pairs", "quick", "debug"):
            assert "default" in param.help or param.show_default, f"{param.opts[0]} hides its default"


@pytest.mark.draws
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_experiment_runs_quick_and_writes_a_complete_run(invoke, command):
    result = invoke(command, "--quick")
    assert result.exit_code == 0, f"{result.stderr}\n{result.exception!r}"
    (run,) = result.runs(command)
    meta = json.loads((run / "meta.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    assert meta["status"] == summary["status"] == "completed"
    assert meta["versions"]["torch"] and meta["argv"][:2] == ["nnlab", command]
    assert isinstance(summary["claims"], list) and summary["claims"], "an experiment checks at least one claim"
    for c in summary["claims"] + summary["checks"]:
        assert {"id", "kind", "claim", "claim_zh", "source", "measured", "expected", "holds"} <= set(c) <= {
            "id", "kind", "claim", "claim_zh", "source", "measured", "expected", "holds", "reason", "reason_zh", "tip"}
        assert ("reason" in c) == (not c["holds"])  # a failed verdict says why; one that held needs no reason
        assert c["id"].startswith(command + ".") and c["source"] in ("lecture", "nnlab")
    assert (run / "metrics.jsonl").read_text().strip()
    plots = list((run / "plots").glob("*.png"))
    assert plots and all(p.stat().st_size > 1000 for p in plots)
    assert str(run) in result.output


def recipe_command(path: Path) -> str:
    """recipes/<command>[-<variant>].yaml -> <command> (the longest registered prefix)."""
    matches = [c for c in COMMANDS if path.stem == c or path.stem.startswith(c + "-")]
    assert matches, f"{path.name} names no command"
    return max(matches, key=len)


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_recipe_loads(path):
    from nnlab.core.command import load

    command = recipe_command(path)
    resolve(load(command).config, [Layer(f"recipe {path.name}", load_recipe(path, command))])


def test_every_experiment_has_a_default_recipe():
    for command in COMMANDS:
        assert (ROOT / "recipes" / f"{command}.yaml").is_file(), command


BAD_INPUTS = [  # the config layer's refusals, through the fake command's options (conftest.FakeConfig)
    (["--scale", "banana"], "--scale: expected a number, got 'banana'"),
    (["--activation", "nope"], "--activation: 'nope' is not one of tanh, relu"),
    (["--width", "0"], "--width: must be >= 1"),
    (["--width", "-4"], "--width: must be >= 1"),
    (["--set", "width"], "--set expects key=value"),
    (["--set", "widht=3"], "did you mean 'width'"),
    (["--recipe", "missing.yaml"], "recipe not found"),
    (["--device", "tpu"], "--device: 'tpu' is not one of auto, cpu, cuda, mps"),
    (["--no-such-option"], "No such option"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_bad_input_is_one_line_exit_2_and_no_run(fake_command, invoke, args, message):
    result = invoke("fake", *args)
    refused(result, message)
    assert not result.out.exists() or not any(result.out.rglob("meta.json"))


@pytest.mark.parametrize(("args", "message"), [
    (["--scale", "banana"], "--scale: 'banana' is not a number"),  # a number or a named scale (xavier, he)
    (["--activation", "nope"], "--activation: unknown activation 'nope'"),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_a_real_commands_own_checks_are_one_line_exit_2(invoke, args, message):
    refused(invoke("init", *args), message)


@pytest.mark.parametrize(("content", "message"), [
    ("width: 8\nwidth: 16\n", "duplicate key 'width'"),
    ("width: 8\nwidht: 16\n", "unknown key 'widht'"),
    ("width: [8\n", "is not valid YAML"),
    ("{{{", "is not valid YAML"),
])
def test_bad_recipes_are_one_line_exit_2(fake_command, invoke, tmp_path, content, message):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(content)
    refused(invoke("fake", "--recipe", str(recipe)), message)


def test_unwritable_out_is_one_line_exit_2(fake_command, invoke, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    refused(invoke("fake", "--quick", "--out", str(blocker / "outputs")), "Error: cannot create")


def test_unknown_command_is_one_line_exit_2(invoke):
    result = invoke("initt")
    refused(result)
    assert result.stderr.strip() == "Error: No such command 'initt'."


# Each process imports everything, says so, then waits for the go: they all create their run in the same second.
SIMULTANEOUS = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import conftest
conftest.install_fake()
import torch  # what the runner's meta.json reads, imported before the start
from nnlab.core.runner import Request, execute
print("ready", flush=True)
while not Path({go!r}).exists():
    time.sleep(0.005)
execute(Request("fake", quick=True, out={out!r}), report=False)
"""


@pytest.mark.slow
def test_simultaneous_runs_get_a_directory_each(tmp_path):
    """Runs started in the same second by separate processes each claim their own directory (numbered on
    clash) and close completed: six processes held at one start line, where sixteen free ones once were."""
    import os

    go, n = tmp_path / "go", 6
    code = SIMULTANEOUS.format(tests=str(Path(__file__).parent), go=str(go), out=str(tmp_path / "out"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NNLAB_FIGURE_WORKERS": "0"}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(n)]
    try:
        assert all(p.stdout.readline().strip() == "ready" for p in procs), [p.stderr.read() for p in procs]
        go.touch()
        errors = [p.communicate(timeout=HUNG_S)[1] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert all(p.returncode == 0 for p in procs), errors
    runs = [p for p in (tmp_path / "out" / "fake").iterdir() if not p.is_symlink()]
    assert len(runs) == n
    assert len({r.name[:15] for r in runs}) < n  # some really did start in the same second (YYYYmmdd-HHMMSS)
    assert all(json.loads((r / "summary.json").read_text())["status"] == "completed" for r in runs)


@pytest.mark.draws
def test_redraw_rebuilds_the_plots_from_the_run_files(fake_command, invoke):
    result = invoke("fake", "--quick")
    (run,) = result.runs("fake")
    before = sorted(p.name for p in (run / "plots").iterdir())
    assert before == ["value.png"]
    for p in (run / "plots").iterdir():
        p.unlink()
    again = invoke("redraw", str(run))
    assert again.exit_code == 0, again.stderr
    assert sorted(p.name for p in (run / "plots").iterdir()) == before


def test_redraw_of_a_non_run_is_one_line_exit_2(invoke, tmp_path):
    refused(invoke("redraw", str(tmp_path)), "not a run directory")


def test_bare_nnlab_prints_help_and_exits_0(invoke):
    result = invoke()
    assert result.exit_code == 0 and "Commands:" in result.output and not result.stderr


# Edge inputs found in review: each must end as a result (exit 0) or as one user error (exit 2), never a crash.
EDGE_INPUTS = [
    (0, ("init", "--quick", "--scale", "1e-50")),          # float32 underflow: activations are exactly 0
    (0, ("init", "--width", "1", "--batch-size", "1")),
    (2, ("init", "--quick", "--seed", "99999999999999999999999")),  # above the documented maximum
    (0, ("optimize", "--quick", "--start", "0,0")),          # starts at the minimum
    (2, ("optimize", "--quick", "--start", "1e300,1e300")),  # outside the bounded start box
    (2, ("approx", "--quick", "--target", "1/(x1-0.5)")),    # a pole on the sup grid
    (0, ("approx", "--quick", "--widths", "64", "--widths", "4", "--widths", "16")),
    (2, ("activations", "--quick", "--activation", "leaky_relu", "--activation", "leaky_relu:0.01")),
]


@pytest.mark.parametrize(("code", "args"), EDGE_INPUTS, ids=lambda a: " ".join(a) if isinstance(a, tuple) else "")
def test_edge_inputs_are_results_or_user_errors(invoke, code, args):
    result = invoke(*args)
    assert result.exit_code == code, f"{result.stderr}\n{result.exception!r}"
    if code == 2:
        refused(result)
        assert not result.runs(args[0])
    else:
        assert json.loads((result.runs(args[0])[0] / "summary.json").read_text())["status"] == "completed"


def test_a_packaged_recipe_runs_by_name_from_any_directory(tmp_path, monkeypatch):
    """Issue 25: recipes ship in the package; `--recipe curse` finds approx-curse.yaml from outside the repository,
    a path still works, an unknown name lists the command's recipes; --print-config shows and runs nothing."""
    from nnlab.core.recipes import PACKAGED, find_recipe

    monkeypatch.chdir(tmp_path)  # no recipes/ folder here
    assert find_recipe("curse", "approx") == find_recipe("approx-curse", "approx") == PACKAGED / "approx-curse.yaml"
    assert find_recipe("approx", "approx") == PACKAGED / "approx.yaml"
    mine = tmp_path / "curse.yaml"  # a file of that name here wins: a path is a path
    mine.write_text("widths: [2, 4]\n")
    assert find_recipe("curse.yaml", "approx") == Path("curse.yaml")
    from click.testing import CliRunner

    from nnlab.cli import cli

    shown = CliRunner().invoke(cli, ["approx", "--recipe", "curse", "--quick", "--print-config"])
    assert shown.exit_code == 0, shown.output
    assert yaml.safe_load(shown.output)["target"] == yaml.safe_load((PACKAGED / "approx-curse.yaml").read_text())[
        "target"] and not (tmp_path / "outputs").exists()
    unknown = CliRunner().invoke(cli, ["approx", "--recipe", "nope"])
    assert unknown.exit_code == 2 and "its recipes: barron, curse, approx" in unknown.output
    listed = CliRunner().invoke(cli, ["recipes", "approx"])
    assert listed.exit_code == 0 and "curse" in listed.output and "3 recipes" in listed.output
    assert CliRunner().invoke(cli, ["recipes", "nope"]).exit_code == 2


def test_a_run_can_be_given_a_name(invoke):
    result = invoke("init", "--quick", "--name", "wide", "--width", "16")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("init")
    assert run.name.endswith("-wide")
    assert "wide" in invoke("runs", "--out", str(result.out)).output

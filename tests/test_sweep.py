"""nnlab sweep: grid x seeds as runs, sweep.csv, summary statistics, failures recorded, resume, Ray = local."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
from conftest import refused

from nnlab.core.command import load
from nnlab.core.headline import split_name
from nnlab.sweep import executors as sweep_exec
from nnlab.sweep import report as sweep_report

# The sweep, made cheap: the 2-D quadratic with --quick; sgd, so that the seed matters (minibatch order).
SIX = ["optimize", "--grid", "lr=0.01,0.1", "--seeds", "0,1,2", "--quick", "--problem", "quadratic",
       "--method", "sgd"]


def sweep_dir(out: Path) -> Path:
    (path,) = [p for p in (out / "sweep").iterdir() if p.is_dir()]
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with (path / "sweep.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_dirs(path: Path, command: str) -> list[Path]:
    return sorted(p for p in (path / command).iterdir() if p.is_dir() and not p.is_symlink())


def final_loss_name(run_dir: Path) -> str:
    """The name the command gives its final loss (read from its numbers(), not written here)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    (name,) = [n for n in load("optimize").numbers(summary) if "final_loss" in n]
    return name


# -- pure parts --------------------------------------------------------------------------------------


def test_a_numbers_name_splits_into_what_and_quantity():
    assert split_name("gd.final_loss") == ("gd", "final_loss")
    assert split_name("0.05/std_last") == ("0.05", "std_last")
    assert split_name("layernorm.invariance_error") == ("layernorm", "invariance_error")
    assert split_name("loss") == ("", "loss")


def test_stats_are_sample_statistics_over_finite_values():
    s = sweep_report.stats([1.0, 2.0, 4.0, float("nan"), None, float("inf")])
    assert s["n"] == 3 and s["mean"] == pytest.approx(7 / 3, rel=1e-15)
    assert s["std"] == pytest.approx(statistics.stdev([1.0, 2.0, 4.0]), rel=1e-15)  # n - 1
    assert (s["min"], s["max"]) == (1.0, 4.0)
    assert sweep_report.stats([0.1, 0.1, 0.1])["std"] == 0.0  # not float noise
    assert sweep_report.stats([3.0])["std"] is None
    assert sweep_report.stats([None])["n"] == 0


# -- bad input: one line, exit 2, nothing run ---------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["optimize", "--grid", "lr"], "--grid expects KEY=V1,V2"),
    (["optimize", "--grid", "lr="], "--grid lr: give values"),
    (["optimize", "--grid", "nope=1"], "no config key 'nope'"),
    (["optimize", "--grid", "lr=banana"], "--grid lr: expected a number, got 'banana'"),
    (["optimize", "--grid", "lr=0.1,-1"], "--grid lr: must be > 0"),
    (["optimize", "--grid", "lr=0.1,1e-1"], "each value once"),
    (["optimize", "--grid", "lr=0.1", "--grid", "lr=0.2"], "given twice"),
    (["optimize", "--grid", "seed=1,2"], "--seeds"),
    (["optimize", "--grid", "lr=0.1", "--set", "lr=0.2"], "give it in one place"),
    (["optimize", "--grid", "lr=0.1", "--seeds", "0,0"], "each seed once"),
    (["optimize", "--grid", "lr=0.1", "--seeds", "x"], "--seeds: expected an integer"),
    (["optimize", "--grid", "lr=0.1", "--executor", "nope"], "'nope' is not one of 'local', 'ray'"),
    (["optimize", "--grid", "lr=0.1", "--executor", "ray", "--address", "127.0.0.1:1"], "cannot reach"),
    (["optimize", "--grid", "lr=0.1", "--address", "auto"], "--address needs --executor ray"),
    (["optimize", "--grid", "lr=0.1", "--prblem", "quadratic"], "did you mean --problem?"),
    (["optimize", "--grid", "problem=mlp", "--start", "1,1"], "grid point problem=mlp (seed 0): start:"),
    (["optimize"], "at least one --grid"),
    (["nope", "--grid", "lr=1"], "unknown command 'nope'"),
    ([], "give a COMMAND"),
    (["--resume", "/nonexistent-sweep"], "not a sweep directory"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_runs(invoke, tmp_path, args, message):
    result = invoke("sweep", *args, "--out", str(tmp_path / "out"))
    refused(result, message)
    assert not (tmp_path / "out").exists()


# -- running ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_six(tmp_path_factory):
    """The issue's six-run sweep on a local pool of 2 workers (spawned processes)."""
    from click.testing import CliRunner

    from nnlab.cli import cli

    out = tmp_path_factory.mktemp("local")
    result = CliRunner().invoke(cli, ["sweep", *SIX, "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    return sweep_dir(out)


@pytest.mark.slow
def test_six_runs_six_rows_and_mean_and_spread_per_learning_rate(local_six):
    runs = run_dirs(local_six, "optimize")
    assert len(runs) == 6
    assert all(json.loads((r / "meta.json").read_text())["status"] in ("completed", "diverged") for r in runs)
    rows = read_csv(local_six)
    assert len(rows) == 6
    assert sorted((r["lr"], r["seed"]) for r in rows) == [(lr, s) for lr in ("0.01", "0.1") for s in "012"]
    assert {r["status"] for r in rows if r["lr"] == "0.01"} == {"completed"}
    assert {r["status"] for r in rows if r["lr"] == "0.1"} == {"diverged"}  # above 2/L: a result, counted
    assert all(r["optimize.zigzag"] in ("true", "false") for r in rows)
    summary = json.loads((local_six / "summary.json").read_text())
    assert [p["values"] for p in summary["points"]] == [{"lr": 0.01}, {"lr": 0.1}]
    loss = final_loss_name(runs[0])
    for point in summary["points"]:
        losses = [float(r[loss]) for r in rows if float(r["lr"]) == point["values"]["lr"]]
        s = point["headline"][loss]
        assert s["n"] == 3
        assert s["mean"] == pytest.approx(statistics.fmean(losses), rel=1e-12)
        assert s["std"] == pytest.approx(statistics.stdev(losses), rel=1e-12)
        assert s["std"] > 0  # the seeds change SGD's minibatch order: a real spread
        assert 0 <= point["claims"]["optimize.zigzag"]["fraction"] <= 1
    assert (local_six / "plots" / "final_loss_vs_lr.png").is_file()


@pytest.mark.slow
def test_ray_executor_gives_the_same_numbers_as_the_local_pool(invoke, tmp_path, local_six):
    pytest.importorskip("ray", reason="the nnlab[ray] extra is not installed (CI installs it)")
    out = tmp_path / "ray"
    result = invoke("sweep", *SIX, "--executor", "ray", "--workers", "2", "--out", str(out))
    assert result.exit_code == 0, (result.stderr, result.exception)
    path = sweep_dir(out)
    assert len(run_dirs(path, "optimize")) == 6

    def numbers(rows):
        skip = {"elapsed_s", "run_dir", "host", "node"}
        return sorted(tuple((k, v) for k, v in r.items() if k not in skip) for r in rows)

    assert numbers(read_csv(path)) == numbers(read_csv(local_six))  # seeded CPU runs are deterministic


def test_a_failing_point_is_recorded_and_the_others_finish_then_resume_reruns_only_it(invoke, tmp_path):
    """device=cuda passes the config (it is a valid choice) but fails at run time on a machine without CUDA."""
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA, where --device cuda fails at run time")
    out = tmp_path / "out"
    args = ["sweep", "optimize", "--grid", "device=cpu,cuda", "--seeds", "0", "--quick", "--problem", "quadratic",
            "--method", "gd", "--lr", "0.1", "--workers", "1", "--out", str(out)]
    result = invoke(*args)
    assert result.exit_code == 1, (result.stderr, result.exception)
    assert "1 of 2 runs failed" in result.stderr
    path = sweep_dir(out)
    rows = {r["device"]: r for r in read_csv(path)}
    assert rows["cpu"]["status"] == "diverged" and rows["cpu"][final_loss_name(run_dirs(path, "optimize")[0])]
    assert rows["cuda"]["status"] == "failed" and "no CUDA device" in rows["cuda"]["error"]
    summary = json.loads((path / "summary.json").read_text())
    assert summary["statuses"] == {"diverged": 1, "failed": 1}
    assert summary["points"][1]["done"] == 0 and summary["points"][1]["headline"] == {}

    again = invoke("sweep", "--resume", str(path), "--workers", "1")
    assert again.exit_code == 1
    assert "1 run to do (1 already done)" in again.stderr
    records = [json.loads(line) for line in (path / "records.jsonl").read_text().splitlines()]
    assert [r["point"] for r in records] == [0, 1, 1]  # the finished cpu point was not run again
    assert len(read_csv(path)) == 2
    clash = invoke("sweep", "--resume", str(path), "--grid", "lr=1")
    refused(clash, "leave out --grid")


def test_a_run_on_a_machine_without_the_sweep_directory_comes_back_as_an_archive(tmp_path):
    """A Ray worker on another node cannot see --out: it runs in a temporary directory and ships the run back."""
    here = tmp_path / "sweep"
    here.mkdir()
    (here / sweep_exec.ID_FILE).write_text("driver-id\n")
    task = sweep_exec.Task(index=0, point=0, seed=1, command="optimize",
                           options={"problem": "quadratic", "method": ["gd"], "lr": "0.01"}, recipe=None, quick=True,
                           set_pairs=(), sweep_dir=str(here), sweep_id="another-machine")
    record = sweep_exec.run_point(task)
    assert record["status"] == "completed" and record["archive"]
    assert not (here / "optimize").exists()  # nothing written where the driver is
    sweep_exec.unpack(record, here)
    run = here / record["path"]
    assert run.name.endswith("-p0-s1") and "archive" not in record
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    assert json.loads((run / "meta.json").read_text())["seed"] == 1


def test_the_sweep_imports_run_one_way():
    """cli -> driver -> executors/report: the driver never imports the click face."""
    import subprocess
    import sys

    code = "import sys, nnlab.sweep.driver; print('nnlab.sweep.cli' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() \
        == "False"


def test_sweeping_a_value_a_command_names_its_numbers_by_keeps_one_name_per_number(invoke, tmp_path):
    """Issue 25: init names its numbers by scale (0.05.std_last); swept over scale, the sweep names them by the
    key (scale.std_last), so the table has one row per number, and ticks read 0.05, not ["0.05"]."""
    import csv

    from nnlab.sweep.report import value_text

    result = invoke("sweep", "init", "--grid", "scale=0.05,0.01", "--seeds", "0", "--quick", "--workers", "1",
                    "--width", "32", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    (sweep_dir,) = [p for p in (tmp_path / "sweep").iterdir() if not p.is_symlink()]
    rows = list(csv.DictReader((sweep_dir / "sweep.csv").open()))
    assert [r["scale"] for r in rows] == ["0.05", "0.01"]
    assert all(r["scale.std_last"] for r in rows) and "0.05.std_last" not in rows[0]
    assert all(r["init.regime.scale"] == "true" for r in rows)
    assert value_text(["0.05"]) == "0.05" and value_text(["0.05", "0.01"]) == '["0.05", "0.01"]'

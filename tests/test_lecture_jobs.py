"""`nnlab lecture --jobs N` (issue 28): the experiments side by side in worker processes give the runs, numbers
and verdicts of the one-by-one lecture, their runs overlap in time, each worker has its share of the cores, and
Ctrl-C stops the lecture with its running experiments closed as interrupted and the report still written.
Real console-script runs; marked slow."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HUNG_S, refused

pytestmark = pytest.mark.slow
# Four sections, five runs (optimize twice), about 12 s of CPU; not backprop, whose cost claims time the machine
ONLY = "activations,init,optimize,regularize"


def lecture(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlab", "lecture", "--quick", "--only", ONLY, *args,
                           "--out", str(out)], capture_output=True, text=True, timeout=HUNG_S)


def runs(out: Path) -> dict[str, dict]:
    """{command/run name: (summary, meta)} of the lecture in `out`, the run's time stamp left out of its name."""
    (parent,) = [p for p in (out / "lecture").iterdir() if not p.is_symlink()]
    found = {}
    for run in parent.glob("*/*"):
        if run.is_dir() and not run.is_symlink():
            tag = run.name.split("-", 2)[2] if run.name.count("-") >= 2 else ""
            found[f"{run.parent.name}/{tag}"] = (json.loads((run / "summary.json").read_text()),
                                                 json.loads((run / "meta.json").read_text()))
    return found


def verdicts(summary: dict) -> dict[str, tuple]:
    return {r["id"]: (r["holds"], json.dumps(r["measured"], sort_keys=True))
            for r in summary["claims"] + summary["checks"]}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    one = tmp_path_factory.mktemp("one")
    two = tmp_path_factory.mktemp("two")
    first, second = lecture(one, "--jobs", "1"), lecture(two, "--jobs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    return (one, first), (two, second)


def test_side_by_side_gives_the_one_by_one_numbers_and_verdicts(both):
    (one, _), (two, second) = both
    a, b = runs(one), runs(two)
    assert sorted(a) == sorted(b) and len(a) == 5  # optimize's quadratic and its MNIST MLP
    for name in a:
        assert verdicts(a[name][0]) == verdicts(b[name][0]), name  # seeded CPU runs: the same digits
        assert b[name][1]["status"] == "completed"
    assert "5 experiments, 2 at a time" in second.stderr


def test_side_by_side_runs_draw_their_own_figures_and_report_in_the_lectures_order(both):
    _, (two, _) = both
    (parent,) = [p for p in (two / "lecture").iterdir() if not p.is_symlink()]
    drawn = sorted(parent.glob("*/*/plots/*.png"))
    assert len([p for p in drawn if "latest" not in p.parts]) >= 10
    page = (parent / "report.html").read_text()
    order = ["activations", "init", "optimize", "regularize"]
    assert [s for s in order if f'data-command="{s}"' in page] == order
    assert [page.index(f'<section class="lecture-section" id="section-{s}"') for s in order] == sorted(
        page.index(f'<section class="lecture-section" id="section-{s}"') for s in order)  # whatever ended first


def test_each_worker_has_its_share_of_the_cores(monkeypatch):
    from nnlab.core import device

    monkeypatch.undo()  # the tests' one-core patch of available_cores, off: the real function
    monkeypatch.setenv("NNLAB_CORES", "1")
    assert device.available_cores() == 1
    monkeypatch.setenv("NNLAB_CORES", "100000")
    assert device.available_cores() == len(__import__("os").sched_getaffinity(0))  # never more than the machine's


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_jobs_value_is_refused_in_one_line(invoke, value, tmp_path):
    refused(invoke("lecture", "--quick", "--jobs", value, "--out", str(tmp_path)), "--jobs")


def test_ctrl_c_of_a_side_by_side_lecture_closes_its_running_experiments_and_reports(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "nnlab", "lecture", "--quick", "--only", "modules,attention",
                             "--jobs", "2", "--out", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    def status(command: str) -> str | None:
        for meta in tmp_path.glob(f"lecture/*/{command}/*/meta.json"):
            with contextlib.suppress(ValueError, OSError):  # being replaced
                return json.loads(meta.read_text())["status"]
        return None

    deadline = time.monotonic() + HUNG_S
    while time.monotonic() < deadline and not (status("modules") == status("attention") == "running"):
        time.sleep(0.05)
    assert status("modules") == status("attention") == "running"  # side by side: both computing at once
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=HUNG_S)
    assert proc.returncode == 130, err[-3000:]
    (parent,) = [p for p in (tmp_path / "lecture").iterdir() if not p.is_symlink()]
    statuses = {run.parent.name: json.loads((run / "meta.json").read_text())["status"]
                for run in parent.glob("*/*") if run.is_dir() and not run.is_symlink()}
    assert set(statuses) == {"modules", "attention"}
    assert set(statuses.values()) <= {"interrupted", "completed"} and "running" not in statuses.values(), statuses
    assert "interrupted" in statuses.values(), statuses
    assert (parent / "report.html").is_file()


def test_a_failed_runs_directory_is_found_by_its_own_tag_never_a_tagged_ones(tmp_path):
    from nnlab.tools.lecture_pool import newest

    for name in ("20261204-191728", "20261204-191728-mlp", "20261204-191728-2", "20261204-191727-mlp-3",
                 "20261204-191729-mlp", "notes"):
        (tmp_path / "optimize" / name).mkdir(parents=True)
    assert Path(newest(tmp_path, "optimize", None)).name == "20261204-191728-2"  # untagged: never `-mlp`
    assert Path(newest(tmp_path, "optimize", "mlp")).name == "20261204-191729-mlp"
    assert newest(tmp_path, "init", None) is None


def test_the_workers_take_the_longest_experiments_first_backprop_fresh_and_each_once():
    from types import SimpleNamespace as NS

    from nnlab.tools.lecture import plan, select
    from nnlab.tools.lecture_pool import start_order

    steps = plan(select((), ()), {}, False, ["nnlab", "lecture"])
    order = [(steps[i][0].name, steps[i][2].tag) for i in start_order(steps)]
    assert sorted(start_order(steps)) == list(range(len(steps)))
    assert order[0] == ("modules", None)  # the longest: in the lecture's order it started third, and ended last
    assert order[1] == ("backprop", None)  # its cost claims time the machine: a fresh worker's first run
    assert order.index(("optimize", "mlp")) < order.index(("optimize", None))
    unknown = [(NS(name="zeta"), None, NS(tag=None)), (NS(name="alpha"), None, NS(tag=None)), *steps[:1]]
    assert start_order(unknown) == [2, 0, 1]  # an unlisted experiment after the listed ones, in the lecture's order

"""nnlab lecture and nnlab report: every registered experiment in the lecture's order, failures and Ctrl-C
reported without stopping the others, --strict, and the report checked in a real (headless) browser."""

from __future__ import annotations

import dataclasses
import html
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import HUNG_S, refused

from nnlab.cli import cli
from nnlab.core.claims import claim
from nnlab.core.command import load
from nnlab.registry import COMMANDS
from nnlab.report.sections import ORDER, lecture_order, section

NINE = ("activations", "approx", "modules", "init", "backprop", "optimize", "regularize", "attention", "train-mnist")


def lecture_dir(out: Path) -> Path:
    (path,) = [p for p in (out / "lecture").iterdir() if not p.is_symlink()]
    return path


def sections_in(page: str) -> list[str]:
    return re.findall(r'<section class="lecture-section" id="[^"]+" data-command="([^"]+)"', page)


def run_status(page: str, command: str) -> str:
    return re.search(rf'<div class="run" data-command="{re.escape(command)}" data-status="(\w+)"', page).group(1)


# -- the lecture's sections ---------------------------------------------------------------------------------
def test_sections_are_the_lecture_in_order_with_one_sentence_each():
    assert ORDER == NINE
    for s in map(section, ORDER):
        assert s.how in ("quoted", "paraphrased")
        assert s.says.endswith(".") and s.says.count(". ") == 0, f"{s.command}: one sentence"
        assert s.zh, f"{s.command}: the lecture's words it quotes or paraphrases"
    assert lecture_order(["train-mnist", "zzz", "init", "activations"]) == ["activations", "init", "train-mnist", "zzz"]


# -- the lecture over stub experiments (fast: no torch, no real plots) ---------------------------------------
@pytest.fixture
def stubs(monkeypatch, patch_command, fake_command):
    """Every registered experiment replaced by a stub that makes a real run directory with one claim and one
    figure; the fake command (conftest.py) registered too, last, as a command the lecture's sections do not
    name. `stubs[name]` = a function of `rec` run first (raise to fail, signal to interrupt);
    `stubs["fail_claim"]` = names whose claim does not hold."""
    behaviour: dict = {"fail_claim": set()}
    # one run a command: the second runs of some (optimize's mlp problem) have their own test below
    monkeypatch.setattr(importlib.import_module("nnlab.tools.lecture"), "SECOND_RUNS", {})
    tiny_png = fake_command.tiny_png
    for name in COMMANDS:
        plots = importlib.import_module(load(name).plots)

        def run(config, rec, name=name):
            if name in behaviour:
                behaviour[name](rec)
            rec.log({"step": 0, "value": 1.0})
            return {"value": 1.5, "claims": [claim(f"{name}.stub", f"{name} stub claim", 1.5, "> 1",
                                                   name not in behaviour["fail_claim"], tip="--stub-setting 2",
                                                   zh=f"{name} 的替身说法")]}

        patch_command(name, run=run, headline=lambda summary: (["value"], [[summary["value"]]]))
        monkeypatch.setattr(plots, "draw", lambda summary, metrics, plots_dir: [tiny_png(plots_dir / "stub.png")])
    return behaviour


def ctrl_c(rec) -> None:
    """A stub experiment's Ctrl-C: the signal (the runner turns it into a stop request), then a safe point."""
    os.kill(os.getpid(), signal.SIGINT)
    rec.check_stop()


def test_lecture_runs_every_registered_experiment_in_the_lectures_order(stubs, invoke, tmp_path):
    result = invoke("lecture", "--quick", "--seed", "3", "--out", str(tmp_path))
    assert result.exit_code == 0, f"{result.stderr}\n{result.exception!r}"
    parent = lecture_dir(tmp_path)
    assert {p.name for p in parent.iterdir() if p.is_dir()} == set(COMMANDS)  # one run directory each
    page = (parent / "report.html").read_text()
    expected = [c for c in NINE if c in COMMANDS] + [c for c in COMMANDS if c not in NINE]
    assert sections_in(page) == expected and set(expected) == set(COMMANDS)
    for s in map(section, ORDER):
        assert (html.escape(s.says) in page) == (s.command in COMMANDS)
    for name in COMMANDS:
        (run,) = [p for p in (parent / name).iterdir() if not p.is_symlink()]
        meta = json.loads((run / "meta.json").read_text())
        assert meta["status"] == "completed" and meta["seed"] == 3 and meta["argv"][:2] == ["nnlab", "lecture"]
        assert f"{name}.stub" in page and f"{name}.stub" in (parent / "report.md").read_text()
    assert str(parent / "report.html") in result.output
    assert f"{len(COMMANDS)}/{len(COMMANDS)} runs finished" in page


def test_a_failing_experiment_is_reported_and_the_others_still_run(stubs, invoke, tmp_path):
    def boom(rec):
        raise RuntimeError("forced failure for the test")

    stubs["init"] = boom
    result = invoke("lecture", "--quick", "--out", str(tmp_path))
    assert result.exit_code == 1  # not everything ran
    parent = lecture_dir(tmp_path)
    page, md = (parent / "report.html").read_text(), (parent / "report.md").read_text()
    assert run_status(page, "init") == "failed"
    assert "RuntimeError: forced failure for the test" in page and "RuntimeError: forced failure for the test" in md
    assert all(run_status(page, n) == "completed" for n in COMMANDS if n != "init")
    assert "init failed" in result.stderr


def test_ctrl_c_closes_the_current_experiment_stops_and_still_reports(stubs, invoke, tmp_path):
    order = lecture_order(COMMANDS)
    first, second, rest = order[0], order[1], order[2:]

    stubs[second] = ctrl_c
    result = invoke("lecture", "--out", str(tmp_path))
    assert result.exit_code == 130
    parent = lecture_dir(tmp_path)
    page = (parent / "report.html").read_text()
    assert sections_in(page) == [first, second]
    assert run_status(page, first) == "completed" and run_status(page, second) == "interrupted"
    assert f"not run: {', '.join(rest)}" in page
    assert not any((parent / n).exists() for n in rest)


def test_ctrl_c_in_an_experiment_without_a_safe_point_stops_the_lecture_after_it(stubs, invoke, tmp_path):
    order = lecture_order(COMMANDS)
    stubs[order[0]] = lambda rec: os.kill(os.getpid(), signal.SIGTERM)  # and the stub never checks for it
    result = invoke("lecture", "--out", str(tmp_path))
    assert result.exit_code == 128 + signal.SIGTERM
    page = (lecture_dir(tmp_path) / "report.html").read_text()
    # the runner honours a stop asked for after the experiment's last safe point: interrupted, results kept
    assert sections_in(page) == order[:1] and run_status(page, order[0]) == "interrupted"
    assert f"Stopped by SIGTERM; not run: {', '.join(order[1:])}" in page


def test_strict_turns_a_claim_that_did_not_hold_into_exit_code_1(stubs, invoke, tmp_path):
    stubs["fail_claim"].add("init")
    assert invoke("lecture", "--only", "init,activations", "--out", str(tmp_path / "a")).exit_code == 0
    result = invoke("lecture", "--only", "init", "--only", "activations", "--strict", "--out", str(tmp_path / "b"))
    assert result.exit_code == 1
    md = (lecture_dir(tmp_path / "b") / "report.md").read_text()  # the report is still written
    assert "**1/2 of the lecture's claims held**" in md
    # the failed claim says why, in the report's words and the terminal's, and what to try
    assert "*Why it fails: measured 1.5, and the statement needs > 1. Try: --stub-setting 2.*" in md
    html = (lecture_dir(tmp_path / "b") / "report.html").read_text()
    assert ('<span class="why">Why it fails: measured 1.5, and the statement needs &gt; 1. Try: --stub-setting 2.'
            in html)
    stubs["fail_claim"].clear()  # the setting that flips it back
    assert invoke("lecture", "--only", "init", "--strict", "--out", str(tmp_path / "c")).exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--only", "inti"], "did you mean 'init'"),
    (["--skip", "nope"], "unknown experiment 'nope'"),
    (["--only", "init", "--skip", "init"], "leave no experiment"),
    (["--seed", "-1"], "seed"),
    (["--seed", "x"], "seed"),
    (["--device", "tpu"], "tpu"),
])
def test_bad_input_is_one_line_exit_2_and_no_directory(invoke, tmp_path, args, message):
    refused(invoke("lecture", *args, "--out", str(tmp_path)), message)
    assert not (tmp_path / "lecture").exists()


def test_cuda_without_a_gpu_is_refused_before_anything_runs(invoke, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    refused(invoke("lecture", "--device", "cuda", "--only", "init", "--out", str(tmp_path)), "no CUDA device")
    assert not (tmp_path / "lecture").exists()


def test_report_refuses_what_is_not_a_run(invoke, tmp_path):
    (tmp_path / "empty").mkdir()
    for args in (["report", str(tmp_path / "missing")], ["report", str(tmp_path / "empty")], ["report"]):
        refused(invoke(*args, "--out", str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()


# -- figures drawn while the next experiment computes (the console script's figure workers) -------------------
class QueuedFigures:
    """Stands in for core.figure_pool's pool: submit() only queues a run's figures, wait() draws them here
    (with the stubs' draw) or, as a pool does, fails (a figure error) or gives up (None: a worker died)."""

    def __init__(self, plan: dict | None = None):
        self.plan = plan or {}  # experiment -> "error" | "gone"
        self.out: list[tuple] = []  # (experiment, job) handed out

    def submit(self, plots, summary, run_dir, plots_dir):
        from nnlab.core.figure_pool import FigureError

        name, pool = Path(run_dir).parent.name, self

        class Job:
            done_at = None

            def wait(self):
                if pool.plan.get(name) == "ctrl-c":
                    os.kill(os.getpid(), signal.SIGINT)  # while the lecture waits for these figures
                if pool.plan.get(name) == "error":
                    raise FigureError(f"drawing the figures of {name}: KeyError: 'x'")
                if pool.plan.get(name) == "gone":
                    return None
                # an hour before now: a workers' clock the test can tell from the moment the run is closed
                self.done_at = time.time() - 3600
                return importlib.import_module(plots).draw(summary, [], Path(plots_dir))

        job = Job()
        self.out.append((name, job))
        return job

    def draw(self, *args):
        return None  # what a pool whose workers are all gone says: runner.draw draws in-process


@pytest.fixture
def queued(monkeypatch):
    from nnlab.core import figure_pool

    pool = QueuedFigures()
    monkeypatch.setattr(figure_pool, "_pool", pool)
    return pool


def test_each_run_stays_open_until_the_next_has_computed_then_closes_in_order(stubs, queued, invoke, tmp_path):
    order = lecture_order(COMMANDS)
    seen = {}  # experiment -> the previous run's status while this one computes

    def note(name):
        def look(rec):
            (prev,) = [p for p in rec.path.parent.parent.glob(f"{order[order.index(name) - 1]}/*")
                       if not p.is_symlink()]
            seen[name] = json.loads((prev / "meta.json").read_text())["status"]
        return look

    for name in order[1:]:
        stubs[name] = note(name)
    result = invoke("lecture", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert seen == {name: "running" for name in order[1:]}  # its figures were still out
    assert [name for name, _ in queued.out] == order
    page = (lecture_dir(tmp_path) / "report.html").read_text()
    assert sections_in(page) == order and all(run_status(page, n) == "completed" for n in order)
    lines = [line for line in result.stderr.splitlines() if re.match(r"\[\d+/\d+\]", line)]
    assert [line.split()[2] for line in lines] == order  # reported in the lecture's order
    for name in order:  # every run has its figure, and ended when it was drawn (by the pool's clock)
        (run,) = [p for p in (lecture_dir(tmp_path) / name).iterdir() if not p.is_symlink()]
        assert (run / "plots" / "stub.png").is_file()
        meta = json.loads((run / "meta.json").read_text())
        assert -3610 < meta["elapsed_s"] < -3500, meta


def test_a_figure_that_fails_later_fails_its_run_and_a_gone_worker_draws_here(stubs, queued, invoke, tmp_path):
    order = lecture_order(COMMANDS)
    queued.plan = {order[0]: "error", order[1]: "gone"}
    result = invoke("lecture", "--out", str(tmp_path))
    assert result.exit_code == 1  # one run failed
    parent = lecture_dir(tmp_path)
    page = (parent / "report.html").read_text()
    assert run_status(page, order[0]) == "failed" and "KeyError: &#x27;x&#x27;" in page
    assert all(run_status(page, n) == "completed" for n in order[1:])
    (run,) = [p for p in (parent / order[1]).iterdir() if not p.is_symlink()]
    assert (run / "plots" / "stub.png").is_file()  # drawn in this process instead


@pytest.mark.parametrize(("in_second", "while_waiting", "first", "second"), [
    (True, False, "completed", "interrupted"),  # in the second experiment: the first, drawn meanwhile, is kept
    (False, True, "completed", "completed"),  # while the first's figures are awaited: both are over, so kept
    (True, True, "interrupted", "interrupted"),  # both: after a stop, the next Ctrl-C interrupts the wait
])
def test_ctrl_c_around_a_run_whose_figures_are_drawn(stubs, queued, invoke, tmp_path, in_second, while_waiting,
                                                     first, second):
    """The first run's figures are waited for after the second experiment has computed. Any Ctrl-C stops the
    lecture there: nothing more starts, the report is written."""
    order = lecture_order(COMMANDS)
    if in_second:
        stubs[order[1]] = ctrl_c
    if while_waiting:
        queued.plan = {order[0]: "ctrl-c"}
    result = invoke("lecture", "--out", str(tmp_path))
    assert result.exit_code == 130
    page = (lecture_dir(tmp_path) / "report.html").read_text()
    assert sections_in(page) == order[:2]
    assert (run_status(page, order[0]), run_status(page, order[1])) == (first, second)
    assert f"Stopped by SIGINT; not run: {', '.join(order[2:])}" in page


@pytest.mark.slow
def test_the_console_script_lecture_draws_with_its_workers(tmp_path):
    """For real: `python -m nnlab lecture` with its figure workers, each run's figures drawn while the next
    computes; every run closed completed with all its figures."""
    proc = subprocess.run([sys.executable, "-m", "nnlab", "lecture", "--quick", "--only", "init,optimize",
                           "--jobs", "1", "--out", str(tmp_path)], capture_output=True, text=True, timeout=HUNG_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parent = lecture_dir(tmp_path)
    drawn = 0
    for name, runs, figures in (("init", 1, 3), ("optimize", 2, 2)):  # optimize: the quadratic and the MNIST MLP
        found = sorted(p for p in (parent / name).iterdir() if not p.is_symlink())
        assert len(found) == runs
        for run in found:
            meta = json.loads((run / "meta.json").read_text())
            assert meta["status"] == "completed", meta
            assert len(list((run / "plots").glob("*.png"))) >= figures
            drawn += len(list((run / "plots").glob("*.png")))
    assert (parent / "report.html").read_text().count("data:image/png;base64,") == drawn


# -- real runs: init and activations --quick through the lecture, approx forced to fail -----------------------
@pytest.fixture(scope="module")
def quick_lecture(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture")
    with pytest.MonkeyPatch.context() as mp:
        def boom(config, rec):
            raise RuntimeError("approx forced to fail")

        package = importlib.import_module(COMMANDS["approx"].module)
        mp.setattr(package, "COMMAND", dataclasses.replace(package.COMMAND, run=boom))
        # --jobs 1: in this process, where the patch is (workers of --jobs 2 would import approx afresh)
        result = CliRunner().invoke(cli, ["lecture", "--quick", "--only", "init,activations,approx", "--jobs", "1",
                                          "--out", str(out)])
    return result, lecture_dir(out)


@pytest.mark.slow
def test_quick_lecture_runs_for_real_and_reports_the_failure(quick_lecture):
    result, parent = quick_lecture
    assert result.exit_code == 1, result.stderr
    page, md = (parent / "report.html").read_text(), (parent / "report.md").read_text()
    assert sections_in(page) == ["activations", "approx", "init"]
    assert run_status(page, "init") == run_status(page, "activations") == "completed"
    assert run_status(page, "approx") == "failed" and "RuntimeError: approx forced to fail" in page
    for claim_id in ("init.regime.xavier", "activations.sigmoid-derivative-max"):
        assert claim_id in page and claim_id in md
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 7 and all((parent / link).is_file() for link in links)  # relative, and they resolve
    assert page.count("data:image/png;base64,") == 7  # init 3, activations 4 (output_layers.png among them)


@pytest.mark.slow
def test_report_on_two_existing_runs(quick_lecture, invoke, tmp_path):
    _, parent = quick_lecture
    runs = [next(p for p in (parent / name).iterdir() if not p.is_symlink()) for name in ("init", "activations")]
    result = invoke("report", *map(str, runs), "--out", str(tmp_path / "rep"))
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    assert sections_in(page) == ["activations", "init"]  # the lecture's order, not the given one
    assert page.count("data:image/png;base64,") == 7 and "init.regime.xavier" in page
    md = (tmp_path / "rep" / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 7  # copied next to the report, so its directory stands alone
    assert all(link.startswith("figures/") and (tmp_path / "rep" / link).is_file() for link in links)
    # A whole lecture directory: its runs, failed one included; an existing report is not overwritten.
    result = invoke("report", str(parent), "--out", str(tmp_path / "again"))
    assert result.exit_code == 0 and sections_in((tmp_path / "again" / "report.html").read_text()) == [
        "activations", "approx", "init"]
    refused(invoke("report", str(parent), "--out", str(tmp_path / "again")))


# -- the report in a real browser -----------------------------------------------------------------------------
CHECK = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; font-src data:;
  style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<script>
const problems = [];
addEventListener("error", e => problems.push("error: " + (e.message || (e.target.outerHTML || "").slice(0, 80))), true);
addEventListener("securitypolicyviolation", e => problems.push("request: " + e.blockedURI));
for (const k of ["error", "warn"]) {
  const f = console[k];
  console[k] = (...a) => { problems.push(k + ": " + a.join(" ")); f.apply(console, a); };
}
addEventListener("load", () => document.documentElement.setAttribute("data-check", JSON.stringify({
  images: [...document.images].map(i => i.naturalWidth),
  requests: performance.getEntriesByType("resource").map(r => r.name),
  sections: [...document.querySelectorAll("section.lecture-section")].map(s => s.dataset.command),
  fonts: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family),
  bodyFont: getComputedStyle(document.body).fontFamily,
  text: document.body.innerText,
  prose: (b => { b.querySelectorAll('[translate="no"], code, math').forEach(e => e.remove()); return b.textContent; })(
    document.body.cloneNode(true)),
  problems })));
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("no Chromium found: CI must install it (.ci/run: apt-get install chromium)")
    pytest.skip("no Chromium here (apt-get install chromium); in CI this test fails instead")


def open_in_browser(report: Path, work: Path) -> dict:
    """Load `report` in headless Chromium with a tiny injected check (a strict CSP that reports any request,
    error and console listeners); save a screenshot and a PDF print of it into `work`; return the findings."""
    page = report.read_text(encoding="utf-8")
    checked = work / "checked.html"  # the injected page renders exactly as the report (no visible change)
    checked.write_text(page.replace("<head>", "<head>" + CHECK, 1), encoding="utf-8")
    argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={work / 'profile'}", "--window-size=1200,1600", "--no-pdf-header-footer",
            f"--screenshot={work / 'report.png'}", f"--print-to-pdf={work / 'report.pdf'}", "--dump-dom",
            checked.as_uri()]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=HUNG_S)
    found = re.search(r'data-check="([^"]*)"', proc.stdout)
    assert found, f"the page's check did not run: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def assert_renders(report: Path, work: Path, sections: list[str], n_images: int) -> None:
    seen = open_in_browser(report, work)
    assert len(seen["images"]) == n_images and all(w > 0 for w in seen["images"]), f"image not decoded: {seen}"
    assert seen["problems"] == [], seen["problems"]
    assert seen["requests"] == [], seen["requests"]
    assert seen["sections"] == sections


@pytest.mark.slow
def test_the_report_renders_in_a_browser_offline_and_prints(quick_lecture, tmp_path):
    _, parent = quick_lecture
    page = (parent / "report.html").read_text()
    for outside in ("http:", "https:", "<script", "<link", "@import", "url(", "src=\"/", "src=\"file"):
        assert outside not in page, outside  # nothing to fetch: the page stands alone
    assert "@media print" in page and "break-inside: avoid" in page
    assert_renders(parent / "report.html", tmp_path, ["activations", "approx", "init"], 7)
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 3


@pytest.mark.slow
def test_the_browser_check_catches_a_corrupt_figure(quick_lecture, tmp_path):
    _, parent = quick_lecture
    page = (parent / "report.html").read_text()
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = tmp_path / "broken.html"
    broken.write_text(page[:start] + "AAAAAAAAAAAAAAAA" + page[start + 16:])  # the PNG signature, gone
    with pytest.raises(AssertionError, match="image not decoded"):
        assert_renders(broken, tmp_path, ["activations", "approx", "init"], 7)


def test_runs_lists_a_lectures_runs_and_report_after_compare_reads_only_runs(stubs, invoke, tmp_path):
    import json

    out = tmp_path / "out"
    assert invoke("lecture", "--out", str(out)).exit_code == 0
    listing = invoke("runs", "--out", str(out))
    assert listing.exit_code == 0, listing.stderr
    assert f"{len(COMMANDS)} of {len(COMMANDS)} runs" in listing.output and "lecture/" in listing.output
    rows = json.loads(invoke("runs", "--out", str(out), "--json", "--command", "init").output)
    assert [r["command"] for r in rows] == ["init"] and rows[0]["status"] == "completed"
    assert json.loads(invoke("runs", "--out", str(out), "--json", "--status", "failed").output) == []
    assert json.loads(invoke("runs", "--out", str(out), "--json", "--where", "seed=1").output) == []
    assert len(json.loads(invoke("runs", "--out", str(out), "--json", "--where", "seed=0").output)) == len(COMMANDS)
    refused(invoke("runs", "--out", str(out), "--where", "seed"), "--where seed: give KEY=VALUE")

    inits = [p for p in (lecture_dir(out) / "init").iterdir() if not p.is_symlink()]
    again = invoke("init", "--seed", "1", "--out", str(out))  # a second init run, told apart by its seed
    assert again.exit_code == 0, again.stderr
    second = next(p for p in (out / "init").iterdir() if not p.is_symlink())
    compared = invoke("compare", str(inits[0]), str(second), "--out", str(out))
    assert compared.exit_code == 0, compared.stderr
    assert "seed=0" in compared.output and "seed=1" in compared.output  # runs labelled by what differs
    built = invoke("report", str(out), "--out", str(tmp_path / "rep"))  # the compare directory is no run
    assert built.exit_code == 0, built.stderr
    page, md = (tmp_path / "rep" / "report.html").read_text(), (tmp_path / "rep" / "report.md").read_text()
    assert page.count('<div class="formulas"><math') == len(NINE)  # the lecture's formulas (the fake has none)
    assert "$$\\text{Cov}[y_i] = n_{in} w^2" in md
    assert f"{len(COMMANDS) + 1} runs" in built.output
    compare_dir = next((out / "compare").iterdir())
    refused(invoke("report", str(compare_dir), "--out", str(tmp_path / "rep2")), "a compare directory, not a run")
    refused(invoke("compare", str(compare_dir), str(second), "--out", str(out)), "a compare directory, not a run")
    assert "--debug" in invoke("report", "--help").output


def test_the_lecture_judges_the_flat_minima_on_a_second_optimize_run(stubs, invoke, tmp_path, monkeypatch):
    """Issue 24: the flat-minima sentences need optimize's MNIST MLP; the lecture runs it beside the default,
    in the same section, as `<time>-mlp`."""
    from nnlab.tools import lecture

    monkeypatch.setattr(lecture, "SECOND_RUNS", {"optimize": [("mlp", {"problem": "mlp"})]})
    result = invoke("lecture", "--only", "optimize,init", "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    runs = sorted(p for p in (lecture_dir(tmp_path) / "optimize").iterdir() if not p.is_symlink())
    assert len(runs) == 2 and runs[1].name.endswith("-mlp")
    configs = [yaml_of(r / "config.yaml") for r in runs]
    assert [c["problem"] for c in configs] == ["quadratic", "mlp"]
    assert "[3/3]" in result.stderr and sections_in((lecture_dir(tmp_path) / "report.html").read_text()) == [
        "init", "optimize"]


def yaml_of(path):
    import yaml

    return yaml.safe_load(path.read_text())


"""Hostile and careless input, signals at every moment, tampered data: each case once broke a promise.

The promises (README, "Guarantees"): bad input is one line and exit 2 with nothing written; every run
directory that exists says what it is; a stop is honoured wherever it arrives; no cached or checkpointed
byte is trusted without a check; no NaN is reported as a completed result.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnlab.core import mnist


def one_line_exit_2(result, message: str | None = None) -> None:
    assert result.exit_code == 2, f"{result.stderr}\n{result.exception!r}"
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert len(result.stderr) < 300 and "Traceback" not in result.stderr
    if message:
        assert message in result.stderr, result.stderr


# -- bounded input ------------------------------------------------------------------------------------

LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
width: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
"""


@pytest.mark.parametrize(("content", "message"), [
    (LAUGHS, "aliases (*name) are not allowed"),
    ("width: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than"),
    ("? [a, b]\n: 1\n", "a key must be a plain name"),
    ("{? {a: 1}: 2}\n", "a key must be a plain name"),
    ("batch-size: 4\nbatch_size: 8\n", "are the same key, given twice"),
    ("width: " + "9" * 5000 + "\n", "recipe hostile.yaml: width: expected an integer"),
])
def test_hostile_recipes_are_refused_fast_and_briefly(invoke, tmp_path, content, message):
    recipe = tmp_path / "hostile.yaml"
    recipe.write_text(content)
    start = time.perf_counter()
    result = invoke("init", "--recipe", str(recipe))
    result.stderr = result.stderr.replace(str(tmp_path) + "/", "")
    assert time.perf_counter() - start < 5  # well under a second alone; generous for a busy CI machine
    one_line_exit_2(result, message)
    assert not result.runs("init")


def test_an_endless_recipe_is_not_read_to_the_end(invoke):
    one_line_exit_2(invoke("init", "--recipe", "/dev/zero"), "larger than 256 KiB")


def test_integers_are_parsed_exactly(invoke):
    result = invoke("init", "--quick", "--depth", "1", "--width", "8", "--seed", "9007199254740993")
    assert result.exit_code == 0, result.stderr
    assert json.loads((result.runs("init")[0] / "meta.json").read_text())["seed"] == 9007199254740993
    one_line_exit_2(invoke("init", "--seed", str(2**63)), "must be <=")


@pytest.mark.parametrize("args", [["--recipe", ""], ["--out", ""], ["--tag", "ok\n"], ["--set", "width=1", "--set",
                                                                                         "width=2"]])
def test_empty_and_sneaky_values_are_errors(invoke, args):
    one_line_exit_2(invoke("init", "--quick", *args))


def test_a_long_bad_value_is_echoed_as_an_excerpt(invoke):
    result = invoke("init", "--scale", "x" * 100_000)
    one_line_exit_2(result)


# -- resume ---------------------------------------------------------------------------------------------

def test_resume_refusals(invoke, tmp_path):
    one_line_exit_2(invoke("train-mnist", "--resume", ""), "give a run directory")
    one_line_exit_2(invoke("train-mnist", "--resume", str(tmp_path)), "not a run directory")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("command: train-mnist\n")
    for meta in ("{broken", "[1, 2]"):
        (run / "meta.json").write_text(meta)
        one_line_exit_2(invoke("train-mnist", "--resume", str(run)), "meta.json")
    (run / "meta.json").write_text(json.dumps({"command": "train-mnist", "status": "interrupted"}))
    one_line_exit_2(invoke("train-mnist", "--resume", str(run), "--quick"), "--quick")
    one_line_exit_2(invoke("train-mnist", "--resume", str(run), "--tag", "x"), "--out and --tag do not apply")
    one_line_exit_2(invoke("train-mnist", "--resume", str(run), "--out", str(tmp_path)), "do not apply")


def test_a_run_directory_in_use_is_refused(invoke, tmp_path):
    """Two processes never own one run: the second (e.g. a concurrent --resume) is refused, naming the first."""
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    (run,) = result.runs("init")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom pathlib import Path\nfrom nnlab.core.run import _lock\n"
        f"h = _lock(Path({str(run)!r}))\nprint('locked', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        from nnlab.core.errors import UserError
        from nnlab.core.run import _lock

        with pytest.raises(UserError, match=f"in use by process {holder.pid}"):
            _lock(run)
    finally:
        holder.kill()
        holder.wait()
    _lock(run).close()  # free again once the holder is gone


# -- signals at every moment ---------------------------------------------------------------------------

def test_signals_during_setup_leave_a_directory_that_says_what_it_is(invoke, monkeypatch):
    from nnlab.core import run as run_module

    original = run_module.claim_directory

    def claim_then_signal(*args, **kwargs):
        path = original(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # a second one: setup still completes
        return path

    monkeypatch.setattr(run_module, "claim_directory", claim_then_signal)
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    assert result.exit_code == 128 + signal.SIGTERM, result.stderr
    (run,) = result.runs("init")
    assert json.loads((run / "meta.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".lock")) == [
        "config.yaml", "meta.json", "metrics.jsonl", "plots", "summary.json"]


def test_a_signal_after_the_last_safe_point_still_stops_the_run(invoke, monkeypatch):
    from nnlab.core.experiment import load

    module = load("init").module
    real_run = module.run

    def run_then_signal(config, rec):
        summary = real_run(config, rec)
        signal.raise_signal(signal.SIGINT)
        return summary

    monkeypatch.setattr(module, "run", run_then_signal)
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    assert result.exit_code == 130
    summary = result.summary("init")
    assert summary["status"] == "interrupted" and summary["claims"]  # the results are kept


def test_a_second_signal_during_finish_cannot_break_it(invoke, monkeypatch):
    from nnlab.core import run as run_module

    original = run_module._point_latest

    def signal_twice_then_link(path):
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)
        original(path)

    monkeypatch.setattr(run_module, "_point_latest", signal_twice_then_link)
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    (run,) = result.runs("init")
    assert (run.parent / "latest").resolve() == run.resolve()
    assert not [p for p in run.rglob(".*") if p.name != ".lock"]  # no temporary file left behind
    assert json.loads((run / "summary.json").read_text())["status"] in ("completed", "interrupted")


# -- NaN is a result, not a completion -----------------------------------------------------------------

def test_a_non_finite_number_makes_the_run_diverged_and_json_stays_strict(invoke, monkeypatch):
    from nnlab.core.experiment import load

    module = load("init").module
    real_run = module.run

    def run_with_nan(config, rec):
        summary = real_run(config, rec)
        summary["input_grad_std"] = {k: float("nan") for k in summary["input_grad_std"]}
        return summary

    monkeypatch.setattr(module, "run", run_with_nan)
    result = invoke("init", "--quick", "--width", "8", "--depth", "2")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("init")

    def refuse(constant):
        raise ValueError(f"bare {constant} in JSON")

    summary = json.loads((run / "summary.json").read_text(), parse_constant=refuse)
    assert summary["status"] == "diverged" and summary["nonfinite"][0].startswith("input_grad_std.")
    assert json.loads((run / "meta.json").read_text())["status"] == "diverged"


# -- data integrity -------------------------------------------------------------------------------------

@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in mnist.PACKAGE_DIR.glob("*.gz"):
        (folder / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(mnist.MIRRORS_ENV, "")
    return folder


def test_a_tampered_cache_is_never_trusted(data_copy):
    first = mnist.load_mnist(data_copy)
    (entry,) = mnist.cache_dir().glob("mnist-*.npz")
    import numpy as np

    for tamper in ("zero-images", "shift-labels"):
        arrays = {k: getattr(first, k).copy() for k in mnist.FIELDS}
        if tamper == "zero-images":
            arrays["test_images"][:] = 0
        else:
            arrays["test_labels"] = np.roll(arrays["test_labels"], 1)
        with open(entry, "wb") as f:
            np.savez(f, **arrays)  # right shapes and dtypes, valid zip CRCs: only the content is wrong
        again = mnist.load_mnist(data_copy)
        assert not again.cached  # decoded afresh from the verified files
        assert (again.test_images == first.test_images).all() and (again.test_labels == first.test_labels).all()


def test_a_data_file_changed_in_place_is_refused_despite_its_cache_entry(data_copy):
    mnist.load_mnist(data_copy)  # fills the cache
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    st = path.stat()
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    with pytest.raises(mnist.MnistError, match="t10k-labels-idx1-ubyte"):
        mnist.load_mnist(data_copy)


def test_the_published_checksum_is_what_idx_sha256_computes():
    data = mnist.load_mnist()
    assert mnist.idx_sha256(data.test_labels) == mnist.FILES["t10k-labels-idx1-ubyte"][0]
    assert Path(mnist.PACKAGE_DIR).is_dir()


# -- redraw on damaged runs ---------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "content", "message"), [
    ("summary.json", "{broken", "not valid JSON"),
    ("meta.json", "{broken", "not valid JSON"),
    ("meta.json", "[1]", "expected a JSON object"),
    ("meta.json", '{"command": ["init"]}', "unknown command"),
    ("summary.json", '{"claims": [], "layers": 3}', "does not hold what 'nnlab init' draws"),
])
def test_redraw_of_a_damaged_run_is_one_line_exit_2(invoke, target, content, message):
    result = invoke("init", "--quick", "--width", "8", "--depth", "1")
    (run,) = result.runs("init")
    (run / target).write_text(content)
    one_line_exit_2(invoke("redraw", str(run)), message)


# -- resource bounds ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("init", "--width", "65536", "--depth", "1"),           # 16 GiB of weights: passed the old guard
    ("init", "--batch-size", "1e12"),
    ("activations", "--chains", "10000000", "--depth", "1000"),
    ("approx", "--samples", "1e12"),
], ids=" ".join)
def test_runs_that_cannot_fit_are_refused_before_they_exist(invoke, args):
    result = invoke(*args)
    one_line_exit_2(result)
    assert "GiB" in result.stderr or "must be <=" in result.stderr
    assert not result.runs(args[0])


def test_the_memory_estimate_is_compared_with_what_is_available(monkeypatch):
    from nnlab.core import runner
    from nnlab.core.errors import UserError
    from nnlab.core.experiment import load

    loaded = load("activations")
    config = loaded.config_cls()
    monkeypatch.setattr(runner, "available_memory", lambda: 10 * 2**20)  # a 10 MiB machine
    with pytest.raises(UserError, match=r"needs about 0\.\d GiB .* 0\.0 GiB are available"):
        runner.check_memory(loaded, config)
    monkeypatch.setattr(runner, "available_memory", lambda: 64 * 2**30)
    runner.check_memory(loaded, config)

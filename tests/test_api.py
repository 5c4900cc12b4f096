"""The Python API: nnlab.run / nnlab.load / Result, with the CLI's validation and errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nnlab


def test_import_nnlab_loads_no_torch():
    code = "import sys, nnlab; print('TORCH' if 'torch' in sys.modules or 'numpy' in sys.modules else 'LIGHT')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "LIGHT"


def test_run_returns_a_result_and_load_reads_the_same(tmp_path):
    result = nnlab.run("init", scale=["0.05"], quick=True, seed=1, out=tmp_path)
    assert result.path.parent == tmp_path / "init" and result.status == "completed"
    assert result.claims[0]["id"].startswith("init.") and result.claims[0]["holds"] in (True, False)
    assert {f.name for f in result.figures} == {"histograms.png", "statistics.png", "gradients.png"}
    assert result.config["scale"] == ["0.05"] and result.config["seed"] == 1 and result.config["width"] == 512
    assert result.metrics and all("step" in m for m in result.metrics)
    again = nnlab.load(result.path)
    assert again.summary == result.summary and again.metrics == result.metrics
    html = result._repr_html_()
    assert html.count("<img") == 3 and "init.variance-formula.0.05" in html and "<table>" in html


def test_a_run_that_did_not_finish_shows_in_a_notebook_without_a_headline(tmp_path):
    import json

    run = nnlab.run("init", scale=["0.05"], quick=True, out=tmp_path, plots=False)
    (run.path / "summary.json").unlink()  # as a run killed before it measured: meta says running, no lock held
    meta = json.loads((run.path / "meta.json").read_text())
    (run.path / "meta.json").write_text(json.dumps({**meta, "status": "running", "ended": None}))
    shown = nnlab.load(run.path)
    assert shown.status == "abandoned"
    html = shown._repr_html_()
    assert "abandoned" in html and "<table>" not in html


def test_api_errors_are_the_cli_errors(tmp_path, invoke):
    with pytest.raises(nnlab.UserError) as api_error:
        nnlab.run("init", scale=["banana"], out=tmp_path)
    cli = invoke("init", "--scale", "banana")
    assert cli.stderr.strip() == f"Error: {api_error.value}"
    assert not (tmp_path / "init").exists()
    with pytest.raises(nnlab.UserError, match="unknown key 'widht'"):
        nnlab.run("init", widht=3, out=tmp_path)
    with pytest.raises(nnlab.UserError, match="unknown command 'innit'"):
        nnlab.run("innit")


def test_load_of_a_non_run_is_a_user_error(tmp_path):
    with pytest.raises(nnlab.UserError, match="not a run directory"):
        nnlab.load(tmp_path)


def test_the_seed_is_an_api_keyword(tmp_path):
    """(The same seed giving the same summary is tests/test_contract.py's, for every command.)"""
    a = nnlab.run("activations", quick=True, seed=5, out=tmp_path)
    c = nnlab.run("activations", quick=True, seed=6, out=tmp_path)
    assert a.path != c.path and a.config["seed"] == 5 and a.summary != c.summary

"""`nnlab serve`'s JSON API through Starlette's test client: validation as the CLI's, queueing, cancel, a worker
that crashes, path traversal, the token, bounded bodies, the listing's cache.

Runs here are `nnlab fake` (tests/conftest.py) in real worker processes, started by this file itself run as a
script (the `__main__` block at the end: it registers the fake command, then is the CLI), without figures.
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

pytest.importorskip("starlette")
pytest.importorskip("starlette.testclient")  # needs httpx2 (the serve extra)

from conftest import tiny_png  # noqa: E402

HERE = Path(__file__).resolve()
FAKE_LAUNCHER = [sys.executable, str(HERE)]  # `python tests/test_serve_api.py fake ...` is `nnlab fake ...`
BASE = "http://127.0.0.1"  # a loopback Host header: what the server answers without a token


def make_lab(out: Path, workers: int = 1, token: str | None = None):
    from nnlab.serve.app import create_app

    return create_app(out, workers, token=token, launcher=FAKE_LAUNCHER, draw=False)


@pytest.fixture
def lab(tmp_path, fake_command, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("FAKE_STEP_S", "0")
    app = make_lab(tmp_path / "out")
    with TestClient(app, base_url=BASE) as client:
        client.jobs = app.state.jobs
        client.out = tmp_path / "out"
        yield client


def wait_end(client, job: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = client.get(f"/api/jobs/{job['job']}").json()
        if now["status"] not in ("queued", "starting", "running"):
            return now
        time.sleep(0.1)
    raise AssertionError(f"job did not end: {now}")


def start(client, config: dict | None = None, quick: bool = True) -> dict:
    response = client.post("/api/runs", json={"command": "fake", "config": config or {}, "quick": quick})
    assert response.status_code == 202, response.text
    return response.json()


def cli_run(invoke, out: Path, *args: str) -> str:
    """A fake run made in this process (the CLI, in-process: no worker to start); its id under `out`."""
    before = set((out / "fake").iterdir()) if (out / "fake").is_dir() else set()
    result = invoke("fake", "--quick", *args, out=out)
    assert result.exit_code == 0, result.output + result.stderr
    (new,) = [p for p in (out / "fake").iterdir() if p not in before and not p.is_symlink()]
    return f"fake/{new.name}"


def test_importing_the_serve_command_loads_neither_torch_nor_starlette():
    code = ("import sys, nnlab.serve, nnlab.serve.cli, nnlab.serve.schema, nnlab.serve.index, nnlab.serve.jobs; "
            "print(sorted(m for m in ('torch', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_schema_of_every_command_is_its_config(lab):
    import dataclasses

    from nnlab.commands.init.config import InitConfig
    from nnlab.registry import COMMANDS

    commands = lab.get("/api/commands").json()["commands"]
    assert [c["name"] for c in commands] == list(COMMANDS)  # the lecture's order
    init = next(c for c in commands if c["name"] == "init")
    fields = {f["name"]: f for f in init["fields"]}
    assert set(fields) == {f.name for f in dataclasses.fields(InitConfig)}
    width = next(f for f in dataclasses.fields(InitConfig) if f.name == "width")
    assert fields["width"] | {} == {**fields["width"], "type": "int", "default": 4096, "low": 1, "high": 65536,
                                    "help": width.metadata["help"], "flag": "--width", "list": False}
    assert fields["dtype"]["choices"] == ["float32", "float64"]
    assert fields["scale"]["list"] and fields["scale"]["default"] == []
    assert init["quick"] == {"width": 512} and init["section"]["title"] == "Initialization"


@pytest.mark.parametrize("config, argv", [
    ({"width": 0}, ["--width", "0"]),
    ({"dtype": "float16"}, ["--dtype", "float16"]),
    ({"widht": 8}, ["--set", "widht=8"]),
    ({"scale": ["0.05", "0.05"]}, ["--scale", "0.05", "--scale", "0.05"]),
    ({"width": "1e999"}, ["--width", "1e999"]),
])
def test_a_bad_value_is_422_with_the_cli_message_and_starts_nothing(lab, invoke, config, argv):
    response = lab.post("/api/runs", json={"command": "init", "config": config, "quick": True})
    assert response.status_code == 422
    message = response.json()["error"]
    cli = invoke("init", "--quick", *argv, out=lab.out)
    assert cli.exit_code == 2
    said = cli.stderr.strip().removeprefix("Error: ")
    if argv[0] == "--set":  # the CLI names the layer a key came from; the page's keys are options
        assert "unknown key 'widht'" in message and "width" in message and "unknown key 'widht'" in said
    else:
        assert message == said
    assert lab.jobs.jobs == {} and not (lab.out / "init").exists()


def test_a_value_no_command_line_can_hold_is_refused_in_one_line(lab):
    for body, needle in [({"command": "init", "config": {"width": {"a": 1}}}, "--width: expected a single value"),
                         ({"command": "init", "config": [1]}, "config: expected an object"),
                         ({"command": "init", "quick": "yes"}, "quick: expected true or false"),
                         ({"command": "nope"}, "unknown command 'nope'"),
                         ({"command": "init", "extra": 1}, "unknown field(s) extra")]:
        response = lab.post("/api/runs", json=body)
        assert response.status_code == 422 and needle in response.json()["error"], response.text
        assert "\n" not in response.json()["error"]
    assert lab.jobs.jobs == {}


def test_the_options_are_the_command_lines_and_resolve_to_the_same_config():
    from nnlab.cli import experiment_command
    from nnlab.core.command import load
    from nnlab.core.runner import Request, build_config
    from nnlab.serve.schema import command_line, validate

    opts, resolved = validate("init", {"scale": [0.05, "xavier"], "width": 1024, "activation": "relu"}, True)
    assert opts.args == ["--quick", "--scale=0.05", "--scale=xavier", "--width=1024", "--activation=relu"]
    line = command_line("init", opts.args)
    assert line == "nnlab init --quick --scale 0.05 --scale xavier --width 1024 --activation relu"
    ctx = experiment_command("init").make_context("init", line.split()[2:])  # what click makes of the line
    given = {k: v for k, v in ctx.params.items() if k in opts.options or k == "quick"}
    cli_config = build_config(load("init"), Request("init", {k: v for k, v in given.items() if k != "quick"},
                                                    quick=given["quick"]))
    assert cli_config == resolved and resolved.width == 1024 and resolved.scale == ["0.05", "xavier"]


def test_a_run_from_the_api_is_a_normal_run_with_the_command_lines_numbers(lab, invoke, tmp_path):
    job = start(lab, {"steps": 4, "seed": 7})
    assert job["id"].startswith("fake/") and job["cli"] == "nnlab fake --quick --steps 4 --seed 7"
    with lab.stream("GET", job["events"]) as events:
        kinds = [line.split(": ", 1)[1] for line in events.iter_lines() if line.startswith("event: ")]
    assert kinds[-1] == "end" and kinds.count("end") == 1
    run = lab.get(f"/api/runs/{job['id']}").json()
    assert run["status"] == "completed" and run["job"]["status"] == "completed"
    assert [c["id"] for c in run["claims"]] == ["fake.value-positive"] and run["checks"][0]["holds"] is True
    assert run["headline"]["columns"] == ["value", "steps"]
    metrics = lab.get(f"/api/runs/{job['id']}/metrics").json()["metrics"]
    assert [m["step"] for m in metrics] == [0, 1, 2, 3]
    # the same command line, in this process: the same numbers
    cli = invoke("fake", "--quick", "--steps", "4", "--seed", "7", out=tmp_path / "cli")
    assert cli.exit_code == 0, cli.output
    (cli_dir,) = (tmp_path / "cli" / "fake").glob("2*")
    assert json.loads((cli_dir / "summary.json").read_text())["value"] == run["numbers"]["fake.value"]
    listed = lab.get("/api/runs").json()
    assert listed["total"] == 1 and listed["runs"][0]["id"] == job["id"] and listed["runs"][0]["held"] == "1/1"


@pytest.mark.slow
def test_runs_queue_behind_the_worker_limit_and_cancel_ends_them_interrupted(lab, monkeypatch):
    monkeypatch.setenv("FAKE_STEP_S", "0.2")
    first = start(lab, {"steps": 200})
    second, third = start(lab, {"steps": 2}), start(lab, {"steps": 2})
    assert first["status"] == "running" and first["id"]
    assert (second["status"], second["queue_position"], third["queue_position"]) == ("queued", 1, 2)
    assert second["id"] is None  # no directory until it starts
    monkeypatch.setattr("nnlab.serve.jobs.MAX_QUEUED", 2)
    full = lab.post("/api/runs", json={"command": "fake", "config": {}, "quick": True})
    assert full.status_code == 503 and "2 runs are waiting" in full.json()["error"] and len(lab.jobs.jobs) == 3
    assert lab.delete(f"/api/jobs/{third['job']}").json()["status"] == "cancelled"
    cancelled = lab.delete(f"/api/runs/{first['id']}")  # SIGINT: the runner closes the run
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "interrupted"
    meta = json.loads((lab.out / first["id"] / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert wait_end(lab, second)["status"] == "completed"
    assert lab.jobs.peak_running == 1
    assert sorted(p.name for p in (lab.out / "fake").iterdir() if not p.is_symlink()) == sorted(
        [first["id"].split("/")[1], lab.get(f"/api/jobs/{second['job']}").json()["id"].split("/")[1]])
    assert lab.delete(f"/api/runs/{first['id']}").status_code == 409  # not running any more


@pytest.mark.slow
def test_a_worker_that_crashes_or_is_killed_takes_only_its_run_down(lab, monkeypatch):
    crashed = wait_end(lab, start(lab, {"scale": 999}))  # the launcher aborts inside the run (SIGABRT)
    assert crashed["status"] == "crashed" and crashed["returncode"] == -signal.SIGABRT
    run = lab.get(f"/api/runs/{crashed['id']}").json()
    assert run["status"] == "abandoned"  # its directory says so: no process holds it
    monkeypatch.setenv("FAKE_STEP_S", "0.2")
    killed = start(lab, {"steps": 200})
    os.kill(killed["pid"], signal.SIGKILL)
    assert wait_end(lab, killed)["status"] == "crashed"
    assert lab.get("/api/status").json()["running"] == 0
    monkeypatch.setenv("FAKE_STEP_S", "0")
    assert wait_end(lab, start(lab))["status"] == "completed"  # the server goes on


def test_only_files_under_out_are_served(lab, invoke, tmp_path):
    job = {"id": cli_run(invoke, lab.out)}
    run_dir = lab.out / job["id"]
    tiny_png(run_dir / "plots" / "value.png")
    secret = tmp_path / "secret.png"
    tiny_png(secret)
    (run_dir / "plots" / "link.png").symlink_to(secret)
    (lab.out / "fake" / "elsewhere").symlink_to(run_dir)
    ok = lab.get(f"/files/{job['id']}/plots/value.png")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png" and ok.content[:4] == b"\x89PNG"
    assert [f["name"] for f in lab.get(f"/api/runs/{job['id']}").json()["figures"]] == ["value.png"]
    for path in [f"/files/{job['id']}/plots/link.png", "/files/fake/elsewhere/meta.json", "/files/../secret.png",
                 "/files/%2e%2e/secret.png", f"/files//{secret}", f"/files/{job['id']}/.lock",
                 "/files/fake/%2E%2E/%2E%2E/secret.png", "/api/runs/fake/%2e%2e", "/api/runs/fake/elsewhere",
                 f"/api/runs/{job['id']}/plots", f"/api/runs//{lab.out}/{job['id']}",
                 "/api/runs/fake/elsewhere/metrics", "/api/runs/etc/passwd"]:
        assert lab.get(path).status_code == 404, path
    assert [r["id"] for r in lab.get("/api/runs").json()["runs"]] == [job["id"]]  # the link is not a run


def test_a_token_is_required_on_every_request_when_set(tmp_path, fake_command):
    from starlette.testclient import TestClient

    with TestClient(make_lab(tmp_path / "out", token="s3cret-token"), base_url="http://10.0.0.5") as client:
        assert client.get("/").status_code == 401
        assert client.get("/api/runs").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 403
        assert client.get("/api/status", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        first = client.get("/?token=s3cret-token")
        assert first.status_code == 200 and "nnlab_token=s3cret-token" in first.headers["set-cookie"]
        assert "HttpOnly" in first.headers["set-cookie"]
        assert client.get("/api/runs").status_code == 200  # the cookie from then on
        client.cookies.clear()
        assert client.post("/api/runs", json={"command": "fake"}).status_code == 401  # nothing started
    with TestClient(make_lab(tmp_path / "out"), base_url="http://evil.example") as client:
        assert client.get("/").status_code == 403  # no token: only a loopback Host header is answered


def test_bodies_are_bounded_json_and_what_the_api_expects(lab):
    big = json.dumps({"command": "fake", "config": {"tag": "x" * 70_000}})
    assert lab.post("/api/runs", content=big, headers={"content-type": "application/json"}).status_code == 413
    assert lab.post("/api/runs", content="{}", headers={"content-type": "text/plain"}).status_code == 415
    assert lab.post("/api/runs", content="{nope", headers={"content-type": "application/json"}).status_code == 400
    assert lab.post("/api/reports", json={"runs": ["../x"]}).status_code == 422
    assert lab.jobs.jobs == {}


def test_the_listing_follows_the_disk_filters_and_says_damaged(lab, invoke):
    from nnlab.serve.index import RunIndex

    done = [{"id": cli_run(invoke, lab.out, "--steps", str(s))} for s in (2, 3)]
    index = RunIndex(lab.out, restat_s=0)  # every file looked at on every listing
    assert [r["status"] for r in index.list()] == ["completed", "completed"]
    first = lab.out / done[0]["id"]
    summary = json.loads((first / "summary.json").read_text())
    (first / "summary.json").write_text(json.dumps({**summary, "status": "diverged"}))
    assert {r["id"]: r["status"] for r in index.list()}[done[0]["id"]] == "diverged"  # a changed file is read again
    (first / "summary.json").write_text("{not json")
    row = {r["id"]: r for r in index.list()}[done[0]["id"]]
    assert row["status"] == "damaged" and "summary.json" in row["headline"]
    damaged = lab.get(f"/api/runs/{done[0]['id']}")
    assert damaged.status_code == 422 and "summary.json" in damaged.json()["error"]
    page = lab.get("/api/runs", params={"status": "completed", "limit": 1}).json()
    assert (page["total"], page["matching"], len(page["runs"])) == (2, 1, 1)
    assert page["runs"][0]["id"] == done[1]["id"] and set(page["statuses"]) == {"completed", "damaged"}
    assert lab.get("/api/runs", params={"command": "init"}).json()["matching"] == 0
    assert lab.get("/api/runs", params={"limit": 0}).status_code == 422
    import shutil

    inside = lab.out / "lecture" / "20260101-000000" / "fake" / "20260101-000001"  # a lecture's run
    shutil.copytree(lab.out / done[1]["id"], inside, ignore=shutil.ignore_patterns(".lock"))
    nested = {r["id"]: r for r in index.list()}["lecture/20260101-000000/fake/20260101-000001"]
    assert nested["command"] == "fake" and nested["status"] == "completed"
    run = lab.get("/api/runs/lecture/20260101-000000/fake/20260101-000001").json()
    assert run["numbers"]["fake.value"] == lab.get(f"/api/runs/{done[1]['id']}").json()["numbers"]["fake.value"]
    assert lab.get("/api/runs/lecture/20260101-000000/fake/20260101-000001/metrics").status_code == 200
    shutil.rmtree(lab.out / "lecture")
    cached = RunIndex(lab.out)  # the default: files looked at every 2 s, a new run at once
    assert len(cached.list()) == 2
    new = cli_run(invoke, lab.out)
    assert [r["id"] for r in cached.list()][0] == new


def test_compare_and_report_of_selected_runs(lab, invoke):
    a, b = ({"id": cli_run(invoke, lab.out, "--steps", str(s))} for s in (2, 5))
    compared = lab.get("/api/compare", params={"runs": f"{a['id']},{b['id']}"}).json()
    assert compared["differ"] == {"steps": [2, 5]} and compared["metrics"] == ["value"]
    assert len(compared["numbers"]["fake.value"]) == 2
    assert lab.get("/api/compare", params={"runs": a["id"]}).status_code == 422
    made = lab.post("/api/reports", json={"runs": [a["id"], b["id"]]})
    assert made.status_code == 200, made.text
    page = lab.get(made.json()["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "fake.value-positive" in page.text


def test_stopping_the_server_closes_its_running_runs_as_interrupted(tmp_path, fake_command, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.setenv("FAKE_STEP_S", "0.2")
    app = make_lab(tmp_path / "out")
    with TestClient(app, base_url=BASE) as client:
        job = start(client, {"steps": 200})
        queued = start(client)
    # leaving the client runs the app's shutdown, as Ctrl-C of uvicorn does
    assert app.state.jobs.jobs[job["job"]].status == "interrupted"
    assert app.state.jobs.jobs[queued["job"]].status == "cancelled"
    assert json.loads((tmp_path / "out" / job["id"] / "meta.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_ctrl_c_of_nnlab_serve_closes_its_running_run_as_interrupted(tmp_path):
    """The real command: `nnlab serve --port 0` prints its URL, answers, runs a real train-mnist; SIGINT ends it."""
    import re
    import urllib.request

    out = tmp_path / "outputs"
    server = subprocess.Popen([sys.executable, "-m", "nnlab", "serve", "--port", "0", "--out", str(out),
                               "--workers", "1"], stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        base = re.search(r"(http://127\.0\.0\.1:\d+)/ ", line).group(1)
        assert "1 at once" in line
        assert urllib.request.urlopen(base + "/", timeout=30).status == 200
        body = json.dumps({"command": "train-mnist", "config": {"epochs": 3}}).encode()
        started = urllib.request.urlopen(urllib.request.Request(
            base + "/api/runs", body, {"content-type": "application/json"}), timeout=60)
        job = json.loads(started.read())
        assert started.status == 202 and job["status"] == "running", job
        server.send_signal(signal.SIGINT)
        assert server.wait(90) == 130  # by the convention of every nnlab command: 128 + SIGINT
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    meta = json.loads((out / job["id"] / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    with pytest.raises(OSError):
        os.kill(job["pid"], 0)  # the worker is gone too


def test_serve_binds_prints_its_url_and_a_token_off_loopback(invoke, tmp_path, monkeypatch):
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.append((self.config, sockets)))
    result = invoke("serve", "--port", "0", "--out", str(tmp_path / "lab"), "--workers", "3")
    assert result.exit_code == 0, result.stderr
    ((config, (sock,)),) = served
    port = sock.getsockname()[1]
    assert result.stderr.startswith(f"nnlab lab: http://127.0.0.1:{port}/  (runs in") and "3 at once" in result.stderr
    assert config.app.token is None and (tmp_path / "lab").is_dir()
    busy = invoke("serve", "--port", str(port), "--out", str(tmp_path / "lab"))  # still bound by the first
    assert busy.exit_code == 2 and "cannot listen there" in busy.stderr
    sock.close()
    result = invoke("serve", "--host", "0.0.0.0", "--port", "0", "--out", str(tmp_path / "lab"))
    assert result.exit_code == 0, result.stderr
    token = served[-1][0].app.token
    assert token and len(token) >= 24 and f"/?token={token}  (runs" in result.stderr
    served[-1][1][0].close()


@pytest.mark.parametrize("args, message", [
    (["--token", "short"], "--token: at least 8 characters"),
    (["--port", "70000"], "70000"),
    (["--workers", "0"], "0"),
])
def test_serve_refuses_bad_options_in_one_line(invoke, args, message):
    result = invoke("serve", *args)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- the language: ?lang=zh, else English ------------------------------------------------------------------------
def init_run(invoke, out: Path) -> tuple[str, dict]:
    """An `init --quick` run made in this process (its claims have Chinese), with a placeholder PNG for each of
    its figures (no drawing): its id and summary."""
    result = invoke("init", "--quick", out=out)
    assert result.exit_code == 0, result.output + result.stderr
    (run_dir,) = [p for p in (out / "init").iterdir() if not p.is_symlink()]
    from nnlab.commands.init import plots

    for name in plots.CAPTIONS:
        tiny_png(run_dir / "plots" / name)
    return f"init/{run_dir.name}", json.loads((run_dir / "summary.json").read_text())


def test_lang_zh_answers_in_chinese_and_english_stays_the_default(lab, invoke):
    from nnlab.commands.init import plots
    from nnlab.core import i18n
    from nnlab.core.command import load

    section = load("init").section
    for query, lang in [({}, "en"), ({"lang": "en"}, "en"), ({"lang": "zh"}, "zh")]:
        (init,) = [c for c in lab.get("/api/commands", params=query).json()["commands"] if c["name"] == "init"]
        zh = lang == "zh"
        assert init["section"]["heading"] == (section.title_zh if zh else section.title)
        assert init["section"]["text"] == (section.zh if zh else section.says)
        assert init["section"]["title"] == "Initialization"  # the raw fields stay as they were
    run_id, summary = init_run(invoke, lab.out)
    english, chinese = (lab.get(f"/api/runs/{run_id}", params=q).json() for q in ({}, {"lang": "zh"}))
    assert [c["claim"] for c in chinese["claims"]] == [c["claim_zh"] for c in summary["claims"]]
    assert [c["claim"] for c in chinese["checks"]] == [c["claim_zh"] for c in summary["checks"]]
    assert all(i18n.share_cjk(c["claim"]) > 0.3 for c in chinese["claims"])
    assert [c["claim"] for c in english["claims"]] == [c["claim"] for c in summary["claims"]]
    assert {f["name"]: f["caption"] for f in chinese["figures"]} == plots.CAPTIONS_ZH
    assert {f["name"]: f["caption"] for f in english["figures"]} == plots.CAPTIONS
    with i18n.using("zh", children=False):
        columns_zh = load("init").headline(summary)[0]
    assert chinese["headline"]["columns"] == columns_zh and i18n.share_cjk("".join(columns_zh)) > 0.5
    assert english["headline"]["columns"] == load("init").headline(summary)[0]
    assert i18n.share_cjk("".join(english["headline"]["columns"])) == 0
    # a claim that fails says why in the page's language (core.console.failure)
    failed = {**summary["claims"][0], "holds": False}
    with i18n.using("zh", children=False):
        from nnlab.serve.index import spoken

        assert spoken(failed)["failure"].startswith("为何不成立")


def test_requests_in_both_languages_at_once_each_get_their_own(lab, invoke):
    from concurrent.futures import ThreadPoolExecutor

    from nnlab.commands.init import plots

    run_id, _ = init_run(invoke, lab.out)
    langs = ["zh", "en"] * 8
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda lang: lab.get(f"/api/runs/{run_id}", params={"lang": lang}).json(), langs))
    for lang, answer in zip(langs, answers, strict=True):
        assert {f["name"]: f["caption"] for f in answer["figures"]} == (plots.CAPTIONS_ZH if lang == "zh"
                                                                       else plots.CAPTIONS)


def test_a_language_other_than_en_or_zh_is_400_in_one_line(lab):
    for method, path in [("GET", "/api/commands"), ("GET", "/api/runs"), ("GET", "/api/latest"),
                         ("GET", "/api/status"), ("GET", "/api/compare"), ("GET", "/api/runs/init/x"),
                         ("POST", "/api/runs"), ("POST", "/api/reports")]:
        response = lab.request(method, path, params={"lang": "fr"}, json={"command": "fake"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == "lang: expected one of en, zh, got 'fr'"
    assert lab.jobs.jobs == {}


def test_a_run_started_in_chinese_is_drawn_in_chinese_and_says_so(lab):
    response = lab.post("/api/runs", params={"lang": "zh"}, json={"command": "fake", "config": {}, "quick": True})
    assert response.status_code == 202, response.text
    job = wait_end(lab, response.json())
    assert job["status"] == "completed" and job["lang"] == "zh" and job["cli"] == "nnlab fake --quick --lang zh"
    assert json.loads((lab.out / job["id"] / "meta.json").read_text())["lang"] == "zh"
    english = wait_end(lab, start(lab))  # the page's language, not the server's: English when none is asked
    assert english["lang"] == "en" and "--lang" not in english["cli"]
    assert json.loads((lab.out / english["id"] / "meta.json").read_text())["lang"] == "en"


def test_the_pages_shell_speaks_the_urls_language(lab):
    from nnlab.core.i18n import share_cjk

    english, chinese, bad = (lab.get("/runs", params=q).text for q in ({}, {"lang": "zh"}, {"lang": "fr"}))
    assert '<html lang="en">' in english and '<a href="/runs">Runs</a>' in english and ">中文</a>" in english
    assert '<html lang="zh-CN">' in chinese and '<a href="/runs?lang=zh">运行</a>' in chinese
    assert ">English</a>" in chinese and "加载中…" in chinese
    body = chinese[chinese.index("<body"):]
    import re

    assert share_cjk(re.sub(r"<[^>]*>", " ", body).replace("nnlab", "")) > 0.5
    assert bad == english  # English; the API says what is wrong


if __name__ == "__main__":  # a worker process of these tests: `nnlab fake`, slowed by FAKE_STEP_S, crashing at 999
    import dataclasses

    sys.path.insert(0, str(HERE.parent))
    import conftest

    from nnlab.cli import main

    module = conftest.install_fake()

    def slow_run(config, rec):
        if config.scale == 999:
            os.abort()  # a worker that dies inside its run, as a segfault would
        for _ in rec.track(range(config.steps), "waiting"):
            time.sleep(float(os.environ.get("FAKE_STEP_S", "0")))
        return conftest.fake_run(config, rec)

    module.COMMAND = dataclasses.replace(module.COMMAND, run=slow_run)
    sys.argv = ["nnlab", *sys.argv[1:]]
    main()

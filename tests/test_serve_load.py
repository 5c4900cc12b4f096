"""A load test of `nnlab serve` on loopback: 20 concurrent clients list the runs while 10 quick runs are
started through the API. None is lost, the worker limit holds, and the server's memory stays bounded.
The runs are `nnlab fake --quick` in real worker processes (tests/test_serve_api.py's worker), without figures.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

import pytest
from conftest import HUNG_S

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from test_serve_api import FAKE_LAUNCHER  # noqa: E402
from test_serve_browser import running_server  # noqa: E402

CLIENTS, RUNS, WORKERS = 20, 10, 2


def rss_bytes() -> int:
    """This process's resident memory (the server runs in it, in a thread)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"content-type": "application/json"} if data else {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.mark.slow
def test_twenty_clients_and_ten_runs_none_lost_the_worker_limit_held(tmp_path, fake_command, monkeypatch):
    from nnlab.serve.app import create_app

    monkeypatch.setenv("FAKE_STEP_S", "0.02")
    app = create_app(tmp_path / "out", WORKERS, launcher=FAKE_LAUNCHER, draw=False)
    jobs = app.state.jobs
    statuses: list[int] = []
    started: list[dict] = []
    most_running = [0]
    lock = threading.Lock()
    with running_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        memory_before = rss_bytes()
        stop = threading.Event()

        def client(k: int) -> None:
            if k < RUNS:  # half the clients each start one run, then list with the others
                code, job = request(port, "POST", "/api/runs", {"command": "fake", "config": {"steps": 5, "seed": k},
                                                                "quick": True})
                with lock:
                    statuses.append(code)
                    started.append(job)
            while not stop.is_set():
                code, listed = request(port, "GET", "/api/runs?limit=50")
                with lock:
                    statuses.append(code)
                    most_running[0] = max(most_running[0], len([j for j in listed.get("jobs", [])
                                                                if j["status"] in ("starting", "running")]))
                time.sleep(0.5)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + HUNG_S
        while time.monotonic() < deadline:
            with lock:
                done = len(started) == RUNS
            if done and all(j.status not in ("queued", "starting", "running") for j in jobs.jobs.values()):
                break
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(60)
        memory_after = rss_bytes()
        listed = request(port, "GET", "/api/runs?limit=100")[1]
    assert statuses.count(202) == RUNS and set(statuses) == {200, 202}  # every request answered
    assert sorted(j.status for j in jobs.jobs.values()) == ["completed"] * RUNS  # none lost
    run_ids = {j.run_id for j in jobs.jobs.values()}
    assert len(run_ids) == RUNS and {r["id"] for r in listed["runs"]} == run_ids
    assert all(r["status"] == "completed" for r in listed["runs"])
    assert jobs.peak_running == WORKERS and most_running[0] <= WORKERS  # the limit reached, never passed
    print(f"server memory {memory_before / 2**20:.0f} -> {memory_after / 2**20:.0f} MiB, {len(statuses)} requests")
    assert memory_after - memory_before < 64 * 2**20, (memory_before, memory_after)

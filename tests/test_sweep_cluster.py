"""nnlab sweep on a real multi-node Ray cluster (issue 28): a head and worker nodes of one CPU each, every one with
its own raylet and workers (ray.cluster_utils.Cluster, as `ray start --head` plus `ray start --address` would make
them), reached as `nnlab sweep ... --executor ray --address HEAD`.

- a shared --out: the runs land on more than one node (the node id per run in sweep.csv), every run directory
  is whole (each file's sha256 taken where the run ended equals the one on the driver's disk), and the numbers are
  the local pool's;
- a node that does not write to --out (NNLAB_SWEEP_SHIP_RUNS=1: its runs come back as archives) and is killed in
  the middle of a run: its finished runs came back whole, the lost run is recorded failed with a line that says
  so, and `--resume` finishes it; the numbers are then the local pool's;
- every Ray process of the cluster (found by a marker in its environment) is gone at the end.

52 s measured on a 2-core machine at a load average of 5 (the cluster's start is about a third of it); marked
slow. CI installs Ray (.ci/run).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the nnlab[ray] extra is not installed (CI installs it)")

from ray.cluster_utils import Cluster  # noqa: E402

from nnlab.sweep.point import SHIP_ENV  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray's processes in /proc")]

# The six-run sweep of tests/test_sweep.py: sgd on the quadratic, so the seed matters (minibatch order).
SIX = ["optimize", "--grid", "lr=0.01,0.1", "--seeds", "0,1,2", "--quick", "--problem", "quadratic",
       "--method", "sgd"]
MARKER = "NNLAB_TEST_RAY_CLUSTER"  # in the environment of every process the cluster starts (its leftovers' mark)
# A dead node is declared dead after two missed health checks a second apart (Ray 2.60's defaults: five, 3 s apart).
FAST_DEATH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
              "health_check_failure_threshold": 2}


# -- the cluster ----------------------------------------------------------------------------------------------


def marked_processes(marker: str) -> list[int]:
    """Pids of the processes (not this one) whose environment carries MARKER=marker: the cluster's own."""
    return processes_with(f"{MARKER}={marker}")


def processes_with(variable: str) -> list[int]:
    """Pids of the live processes (not this one) whose environment holds the line `variable` (NAME=value)."""
    needle = variable.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("Z", "X"):  # a zombie has ended
                    pids.append(int(entry.name))
    return pids


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    return "?"


class LocalCluster:
    """A Ray cluster on this machine: the head (1 CPU; the driver connects to its raylet) and worker nodes."""

    def __init__(self, temp: Path):
        self.temp = temp
        self.cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False, "_system_config": FAST_DEATH})
        self.address = self.cluster.address  # HOST:PORT of the head's GCS, what `ray start --head` prints

    def only_workers(self, *envs: dict[str, str]) -> list:
        """Replace the worker nodes by one per `envs` (1 CPU each; `env` reaches the node's raylet and workers)."""
        for node in list(self.cluster.worker_nodes):
            self.cluster.remove_node(node)
        return [self.cluster.add_node(num_cpus=1, env_vars=env) for env in envs]

    @property
    def head_id(self) -> str:
        return self.cluster.head_node.node_id


@pytest.fixture(scope="module")
def cluster(local_pool):
    """The cluster, made after the local pool's sweep: that pool's resource tracker (a helper process that lives as
    long as pytest) must not carry the marker of the cluster's processes."""
    marker = uuid.uuid4().hex
    # Short: Ray's unix sockets live under it (108 bytes at most). Its own folder: the address file
    # (ray_current_cluster) and the sessions stay out of the machine's /tmp/ray, which other Rays may use.
    temp = Path(tempfile.mkdtemp(prefix="nnlab-ray-"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_TMPDIR", str(temp))
        env.setenv(MARKER, marker)
        made = None
        try:
            made = LocalCluster(temp)
            yield made
        finally:
            if made is not None:
                made.cluster.shutdown()
            left = marked_processes(marker)
            deadline = time.monotonic() + 15  # workers notice their raylet's end within a few seconds
            while left and time.monotonic() < deadline:
                time.sleep(0.2)
                left = marked_processes(marker)
            named = {pid: command_line(pid) for pid in left}
            for pid in left:  # fail, but leave nothing running
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(temp, ignore_errors=True)
            assert named == {}, f"processes of the cluster left after its shutdown: {named}"


# -- reading a sweep ------------------------------------------------------------------------------------------


def sweep_dir(out: Path) -> Path:
    (path,) = [p for p in (out / "sweep").iterdir() if p.is_dir()]
    return path


def rows(path: Path) -> list[dict[str, str]]:
    with (path / "sweep.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def latest_records(path: Path) -> dict[int, dict]:
    records = [json.loads(line) for line in (path / "records.jsonl").read_text().splitlines()]
    return {r["index"]: r for r in records}


def numbers(table: list[dict[str, str]]) -> list[tuple]:
    """Each row without where and how long it ran: grid values, seed, status, error, headline numbers, claims."""
    return sorted(tuple((k, v) for k, v in r.items() if k not in ("elapsed_s", "host", "node", "run_dir"))
                  for r in table)


def sha256_files(run_dir: Path) -> dict[str, str]:
    """Every regular file of a run directory and its sha256, read here (on the driver's disk)."""
    return {f.relative_to(run_dir).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in run_dir.rglob("*") if f.is_file()}


def assert_whole(path: Path, record: dict) -> None:
    """The run directory on the driver's disk holds exactly the files, byte for byte, that the run left where
    it ended (the sha256 of each, taken there, is in its record)."""
    assert record["files"], record
    assert {"summary.json", "meta.json", "config.yaml"} <= set(record["files"])
    assert sha256_files(path / record["path"]) == record["files"], record["path"]


@pytest.fixture(scope="module")
def local_pool(tmp_path_factory):
    """The same six runs on a local pool of two workers: the numbers the cluster must give."""
    from click.testing import CliRunner

    from nnlab.cli import cli

    out = tmp_path_factory.mktemp("local")
    result = CliRunner().invoke(cli, ["sweep", *SIX, "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    return rows(sweep_dir(out))


# -- the tests ------------------------------------------------------------------------------------------------


def test_a_sweep_with_a_shared_out_runs_on_two_nodes_whole_and_equal_to_the_local_pool(invoke, tmp_path, cluster,
                                                                                      local_pool):
    (worker,) = cluster.only_workers({})
    result = invoke("sweep", *SIX, "--executor", "ray", "--address", cluster.address, "--out", str(tmp_path))
    assert result.exit_code == 0, (result.stderr, result.exception)
    path = sweep_dir(tmp_path)
    table = rows(path)
    assert len(table) == 6
    assert {r["node"] for r in table} == {cluster.head_id, worker.node_id}  # both nodes ran some
    records = latest_records(path)
    assert sorted(records) == list(range(6))
    for record in records.values():
        assert record["status"] in ("completed", "diverged") and not record.get("shipped")  # written in place
        assert_whole(path, record)
    assert numbers(table) == numbers(local_pool)  # seeded CPU runs: the same digits wherever they ran


def test_a_node_killed_mid_run_without_a_shared_out_fails_its_run_and_resume_finishes_it(invoke, tmp_path, cluster,
                                                                                        local_pool):
    scratch = cluster.temp / "node-tmp"  # the node's temporary folder: a run there is a run in progress
    scratch.mkdir()
    (worker,) = cluster.only_workers({SHIP_ENV: "1", "TMPDIR": str(scratch)})
    out = tmp_path / "out"
    killed = threading.Event()

    def kill_the_node_mid_run() -> None:
        """Once the node has shipped a run back and is in its next one (its folder made, its summary not yet
        written), kill all its processes at once (SIGKILL: its raylet and its workers, found by the node's TMPDIR
        in their environment; a worker left to notice its raylet's end could finish the run and hand it in)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            shipped = False
            for found in out.glob("sweep/*/records.jsonl"):
                with contextlib.suppress(ValueError):  # a line being written
                    shipped = any(json.loads(line)["node"] == worker.node_id
                                  for line in found.read_text().splitlines())
            running = any(scratch.glob("nnlab-sweep-*")) and not any(scratch.glob("nnlab-sweep-*/*/*/summary.json"))
            if shipped and running:
                for pid in processes_with(f"TMPDIR={scratch}"):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                cluster.cluster.remove_node(worker, allow_graceful=False)
                killed.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_the_node_mid_run, daemon=True)
    watcher.start()
    result = invoke("sweep", *SIX, "--executor", "ray", "--address", cluster.address, "--out", str(out))
    watcher.join(timeout=5)
    assert killed.is_set(), "the node never started a second run (the head took them all): nothing was killed"
    assert result.exit_code == 1, (result.stderr, result.exception)
    path = sweep_dir(out)
    records = latest_records(path)
    lost = [r for r in records.values() if r["status"] == "failed"]
    assert len(lost) >= 1 and all("was lost during the run" in r["error"] for r in lost), lost
    assert f"{len(lost)} of 6 runs failed" in result.stderr
    from_node = [r for r in records.values() if r["node"] == worker.node_id and r["status"] != "failed"]
    assert from_node and all(r["shipped"] for r in from_node)  # it could not write there: archives
    for record in records.values():
        if record["status"] != "failed":
            assert_whole(path, record)

    again = invoke("sweep", "--resume", str(path), "--executor", "ray", "--address", cluster.address)
    assert again.exit_code == 0, (again.stderr, again.exception)
    assert f"{len(lost)} run{'s' * (len(lost) > 1)} to do ({6 - len(lost)} already done)" in again.stderr
    records = latest_records(path)
    assert all(records[r["index"]]["node"] == cluster.head_id for r in lost)  # the only node left
    for record in records.values():
        assert record["status"] in ("completed", "diverged")
        assert_whole(path, record)
    table = rows(path)
    assert len({r["node"] for r in table}) == 2
    assert numbers(table) == numbers(local_pool)

"""nnlab compare, nnlab runs, nnlab export: tools that read finished runs."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from conftest import refused

from nnlab.core.command import load


@pytest.fixture(scope="module")
def two_init_runs(tmp_path_factory):
    """Two quick init runs that differ only in the weight scale (small width: seconds)."""
    from nnlab.api import run

    out = tmp_path_factory.mktemp("runs")
    a = run("init", quick=True, out=out, scale=["0.05"], width=64, tag="big")
    b = run("init", quick=True, out=out, scale=["0.01"], width=64)
    return out, a, b


def test_compare_two_init_runs_writes_the_overlay_and_the_differing_keys(invoke, tmp_path, two_init_runs):
    _, a, b = two_init_runs
    out = tmp_path / "out"
    result = invoke("compare", str(a.path), str(b.path), "--metric", "std", "--out", str(out))
    assert result.exit_code == 0, (result.stderr, result.exception)
    (path,) = list((out / "compare").iterdir())
    plot = path / "plots" / "std.png"
    assert plot.is_file() and plot.stat().st_size > 10_000
    summary = json.loads((path / "summary.json").read_text())
    assert summary["config_differs"] == {"scale": [["0.05"], ["0.01"]]}  # width, depth, seed... are the same
    numbers = [load("init").numbers(r.summary) for r in (a, b)]  # the command names its numbers
    assert numbers[0] and summary["headline"] == {
        name: [numbers[0].get(name), numbers[1].get(name)] for name in dict.fromkeys([*numbers[0], *numbers[1]])}
    only_a = [n for n in numbers[0] if n not in numbers[1]]
    assert only_a and all(summary["headline"][n][1] is None for n in only_a)  # b has no 0.05 scale: missing
    assert json.loads((path / "meta.json").read_text())["command"] == "compare"
    assert "scale" in result.output


def test_compare_refuses_one_run_and_an_unknown_metric(invoke, tmp_path, two_init_runs):
    _, a, b = two_init_runs
    for args, message in ([str(a.path)], "at least two"), ([str(a.path), str(b.path), "--metric", "nope"],
                                                            "--metric nope: not logged by every run"):
        result = invoke("compare", *args, "--out", str(tmp_path / "out"))
        refused(result, message)
    assert not (tmp_path / "out").exists()


def test_runs_lists_newest_first_with_status_tag_and_headline(invoke, two_init_runs):
    out, a, b = two_init_runs
    result = invoke("runs", "init", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    lines = result.output.splitlines()
    first = next(i for i, line in enumerate(lines) if a.path.name in line)
    second = next(i for i, line in enumerate(lines) if b.path.name in line)
    assert second < first  # b started after a
    assert "big" in lines[first] and "completed" in lines[first]
    shown = [n for n in load("init").numbers(a.summary) if n in lines[first]]
    assert shown and "w" not in shown[0].replace("/", ".").split(".")  # a result, not w (which repeats the scale)
    assert "2 of 2 runs" in result.output
    bad = invoke("runs", "nope", "--out", str(out))
    refused(bad, "unknown command 'nope'")


def read_events(logdir: Path) -> list:
    """Parse TensorBoard event files (TFRecord: length, crc, Event protobuf, crc) without tensorboard."""
    from tensorboardX.proto import event_pb2

    events = []
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[i + 12:i + 12 + n])
            events.append(event)
            i += 12 + n + 4
    return events


def test_export_to_tensorboard_writes_readable_scalars_and_images(invoke, tmp_path, two_init_runs):
    pytest.importorskip("tensorboardX", reason="the nnlab[tensorboard] extra is not installed (CI installs it)")
    _, a, _ = two_init_runs
    logdir = tmp_path / "tb"
    result = invoke("export", str(a.path), "--to", "tensorboard", "--logdir", str(logdir))
    assert result.exit_code == 0, (result.stderr, result.exception)
    scalars, images = {}, set()
    for event in read_events(logdir):
        for value in event.summary.value:
            if value.HasField("image"):
                images.add(value.tag)
            elif value.HasField("simple_value") or value.simple_value:
                scalars[(value.tag, event.step)] = value.simple_value
    for record in a.metrics:  # every logged number is there, at its step, under <field>/<series>
        assert scalars[(f"std/scale_{record['scale']}", record["step"])] == pytest.approx(record["std"], rel=1e-6)
    assert images == {f"plots/{p.stem}" for p in a.figures} and images
    again = invoke("export", str(a.path), "--to", "tensorboard", "--logdir", str(logdir))
    refused(again, "already has event files")


def test_runs_and_the_reader_take_a_relative_out(invoke, two_init_runs, monkeypatch):
    """A run directory given relative to the working directory reads whole (it was joined onto itself)."""
    from nnlab.core.record import RunRecord

    out, a, _ = two_init_runs
    monkeypatch.chdir(out.parent)
    result = invoke("runs", "--out", out.name)
    assert result.exit_code == 0 and "damaged" not in result.output and "2 of 2 runs" in result.output
    assert RunRecord(Path(out.name) / "init" / a.path.name).read_all().status == "completed"


def test_tensorboard_live_writes_the_runs_scalars_while_it_trains_and_export_takes_a_folder(invoke, tmp_path,
                                                                                             monkeypatch):
    """Issue 25: --tensorboard (or NNLAB_TENSORBOARD=1) writes an event file as the metrics are logged, with the
    tags export writes afterwards; export of a folder gives each run its own logdir."""
    from nnlab.core.live_board import scalars_of

    result = invoke("optimize", "--quick", "--method", "gd", "--method", "adam", "--tensorboard")
    assert result.exit_code == 0, result.stderr
    (run,) = result.runs("optimize")
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    expected = [s for i, r in enumerate(lines) for s in scalars_of(r, i)]
    live = [(v.tag, v.simple_value, e.step) for e in read_events(run / "tensorboard") for v in e.summary.value]
    assert len(live) == len(expected) > 100 and {t for t, _, _ in live} == {"loss/method_gd", "loss/method_adam"}
    assert live == [(t, pytest.approx(v, rel=1e-6), s) for t, v, s in expected]  # float32 in the event file

    monkeypatch.setenv("NNLAB_TENSORBOARD", "1")
    by_env = invoke("init", "--quick", "--width", "16", out=result.out / "env")
    assert list((by_env.runs("init")[0] / "tensorboard").glob("events.out.tfevents.*"))
    monkeypatch.setenv("NNLAB_TENSORBOARD", "0")
    off = invoke("init", "--quick", "--width", "16", out=result.out / "off")
    assert not (off.runs("init")[0] / "tensorboard").exists()

    exported = invoke("export", str(result.out), "--to", "tensorboard", "--logdir", str(tmp_path / "tb"))
    assert exported.exit_code == 0, exported.stderr
    assert sorted(p.parent.relative_to(tmp_path / "tb").parts[0] for p in (tmp_path / "tb").rglob("events.*")) == [
        "env", "off", "optimize"]

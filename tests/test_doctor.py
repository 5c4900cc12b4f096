"""`nnlab doctor` on this machine, each of its checks broken in turn, and `--device` resolution with faked probes."""

from __future__ import annotations

import gzip
import json
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import HUNG_S, refused

from nnlab.core.device import describe, probe, resolve_device
from nnlab.core.errors import UserError
from nnlab.data import mnist
from nnlab.doctor import checks as doctor_checks

ROOT = Path(__file__).resolve().parents[1]


def doctor_json(invoke, *args: str) -> tuple[int, dict]:
    result = invoke("doctor", "--json", *args)
    return result.exit_code, json.loads(result.output)


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


@pytest.fixture
def out(tmp_path):
    return str(tmp_path / "outputs")


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the shipped MNIST files in tmp, used through NNLAB_DATA_DIR."""
    folder = tmp_path / "mnist"
    shutil.copytree(mnist.PACKAGE_DIR, folder)
    monkeypatch.setenv(mnist.DATA_ENV, str(folder))
    return folder


# ----------------------------------------------------------------------------------------------------
# On this machine


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_doctor_end_to_end_in_a_fresh_process_under_15_s(tmp_path):
    # The budget is 15 s on an idle 2-core machine. The test counts the process's CPU seconds (user + sys),
    # which other jobs sharing the cores do not inflate as they do wall time; with one torch thread
    # (OMP_NUM_THREADS=1) idle wall time is about the same.
    before = cpu_seconds_of_children()
    proc = subprocess.run([sys.executable, "-m", "nnlab", "doctor", "--json", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=ROOT, timeout=HUNG_S)
    cpu = cpu_seconds_of_children() - before
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True and all(c["ok"] is not False for c in report["checks"])
    assert cpu < 15, f"nnlab doctor used {cpu:.1f} s of CPU"
    assert not (tmp_path / "o").exists(), "checking the output directory must not leave it behind"


def test_every_check_holds_here_and_absent_devices_are_neutral(invoke, out):
    cuda, mps = probe()
    result = invoke("doctor", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert "✗" not in result.output and "all checks hold" in result.output
    code, report = doctor_json(invoke, "--out", out)
    assert code == 0 and report["ok"] is True
    checks = by_name(report)
    for check in report["checks"]:
        assert set(check) == {"group", "name", "ok", "detail", "fix"}
        assert check["ok"] in (True, None) and check["fix"] == ""
    for name in ("python", "nnlab", "torch", "numpy", "matplotlib", "CPU", "MNIST folder", *mnist.FILES,
                 "output directory", "cache directory", "disk (output)", "training (cpu)"):
        assert checks[name]["ok"] is True, checks[name]
    assert checks["CUDA"]["ok"] is (True if cuda else None) and checks["MPS"]["ok"] is (True if mps else None)
    if not cuda:
        assert "absent" in checks["CUDA"]["detail"] and "training (cuda)" not in checks
    assert ("CPU build" in checks["torch"]["detail"]) is (not sys.modules["torch"].version.cuda)
    low, high = doctor_checks.SMOKE_LOSS_RANGE
    loss = float(checks["training (cpu)"]["detail"].split("loss ")[1].split()[0])
    assert low <= loss <= high


def test_smoke_loss_is_seeded_and_learns():
    data = mnist.load_mnist()
    first = doctor_checks.smoke_loss("cpu", data.train_images, data.train_labels)
    again = doctor_checks.smoke_loss("cpu", data.train_images, data.train_labels)
    other = doctor_checks.smoke_loss("cpu", data.train_images, data.train_labels, seed=1)
    assert first[0] == again[0] and first[0] != other[0]
    assert first[0] < 0.25 * np.log(10)  # well below the untrained network's ln 10


def test_help_documents_every_option_and_imports_no_torch():
    code = ("import sys\nfrom nnlab.cli import cli\n"
            "try:\n    cli.main(['doctor', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('HEAVY=' + ','.join(m for m in ('torch', 'numpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip().splitlines()[-1] == "HEAVY="
    for option in ("--out", "--data-dir", "--device", "--json"):
        assert option in out
    assert out.count("default") >= 4


# ----------------------------------------------------------------------------------------------------
# Each check broken in turn


def flip_compressed_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def flip_content_byte(path: Path) -> None:
    """A valid gzip whose content differs from MNIST's in one pixel: only the SHA-256 can tell."""
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0x01
    path.write_bytes(gzip.compress(bytes(raw), mtime=0))


@pytest.mark.parametrize("damage", [flip_compressed_byte, flip_content_byte])
def test_a_corrupt_data_file_fails_its_check(invoke, out, data_copy, damage):
    damage(data_copy / "t10k-labels-idx1-ubyte.gz")
    result = invoke("doctor", "--out", out)
    assert result.exit_code == 1
    assert "✗" in result.output and "fix:" in result.output
    code, report = doctor_json(invoke, "--out", out)
    checks = by_name(report)
    assert code == 1 and report["ok"] is False
    bad = checks["t10k-labels-idx1-ubyte"]
    assert bad["ok"] is False and bad["fix"].startswith("delete ")
    if damage is flip_content_byte:
        assert "SHA-256" in bad["detail"]
    assert checks["train-images-idx3-ubyte"]["ok"] is True and checks["MNIST folder"]["ok"] is True
    assert str(data_copy) in checks["MNIST folder"]["detail"] and mnist.DATA_ENV in checks["MNIST folder"]["detail"]
    assert checks["training (cpu)"]["ok"] is None  # skipped: it needs the data
    assert [c["name"] for c in report["checks"] if c["ok"] is False] == ["t10k-labels-idx1-ubyte"]


def test_a_missing_data_file_and_a_missing_folder_fail(invoke, out, data_copy, tmp_path):
    (data_copy / "train-labels-idx1-ubyte.gz").unlink()
    code, report = doctor_json(invoke, "--out", out)
    assert code == 1 and by_name(report)["train-labels-idx1-ubyte"]["ok"] is False
    code, report = doctor_json(invoke, "--out", out, "--data-dir", str(tmp_path / "nowhere"))
    checks = by_name(report)
    assert code == 1 and checks["MNIST folder"]["ok"] is False and "--data-dir" in checks["MNIST folder"]["detail"]


def test_data_dir_option_is_checked(invoke, out, data_copy, monkeypatch):
    monkeypatch.delenv(mnist.DATA_ENV)
    code, report = doctor_json(invoke, "--out", out, "--data-dir", str(data_copy))
    assert code == 0 and f"{data_copy} (from --data-dir)" == by_name(report)["MNIST folder"]["detail"]


def test_an_output_directory_that_cannot_be_created_fails(invoke, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    result = invoke("doctor", "--out", str(blocker / "outputs"))
    assert result.exit_code == 1 and "✗" in result.output
    code, report = doctor_json(invoke, "--out", str(blocker / "outputs"))
    check = by_name(report)["output directory"]
    assert code == 1 and check["ok"] is False and "is a file" in check["detail"] and "--out" in check["fix"]
    assert [c["name"] for c in report["checks"] if c["ok"] is False] == ["output directory"]


def test_a_cache_directory_that_cannot_be_created_fails(invoke, out, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv(mnist.CACHE_ENV, str(blocker / "cache"))
    code, report = doctor_json(invoke, "--out", out)
    checks = by_name(report)
    assert code == 1 and checks["cache directory"]["ok"] is False
    assert mnist.CACHE_ENV in checks["cache directory"]["fix"]
    assert checks["decoded cache"]["ok"] is None  # no entry there: absent, not failed


def test_too_little_disk_fails(invoke, out, monkeypatch):
    monkeypatch.setattr(doctor_checks, "FULL_RUN_BYTES", 10**18)  # an exabyte: no disk here has it
    code, report = doctor_json(invoke, "--out", out)
    assert code == 1 and by_name(report)["disk (output)"]["ok"] is False


@pytest.mark.parametrize("damage", ["garbage", "different pixels"])
def test_a_bad_decoded_cache_fails_and_a_missing_one_is_neutral(invoke, out, tmp_path, monkeypatch, damage):
    monkeypatch.setenv(mnist.CACHE_ENV, str(tmp_path / "cache"))
    code, report = doctor_json(invoke, "--out", out)
    assert code == 0 and by_name(report)["decoded cache"]["ok"] is None
    mnist.load_mnist()  # writes the entry
    (entry,) = (tmp_path / "cache").glob("mnist-*.npz")
    code, report = doctor_json(invoke, "--out", out)
    assert code == 0 and by_name(report)["decoded cache"]["ok"] is True
    if damage == "garbage":
        entry.write_bytes(b"not a zip file")
    else:  # a well-formed entry whose arrays are not the files'
        arrays = mnist.read_cache(entry)
        arrays["test_images"][0, 0, 0] ^= 1
        np.savez(entry, **arrays)
    code, report = doctor_json(invoke, "--out", out)
    check = by_name(report)["decoded cache"]
    assert code == 1 and check["ok"] is False and check["fix"].startswith(f"delete {entry}")


def test_a_smoke_loss_outside_its_range_fails(invoke, out, monkeypatch):
    monkeypatch.setattr(doctor_checks, "SMOKE_LOSS_RANGE", (5.0, 6.0))
    result = invoke("doctor", "--out", out)
    assert result.exit_code == 1 and "✗" in result.output
    code, report = doctor_json(invoke, "--out", out)
    check = by_name(report)["training (cpu)"]
    assert code == 1 and check["ok"] is False and check["fix"]
    assert [c["name"] for c in report["checks"] if c["ok"] is False] == ["training (cpu)"]


def test_a_wrong_matmul_fails_the_device_and_skips_its_training(invoke, out, monkeypatch):
    monkeypatch.setattr(doctor_checks, "MATMUL_RTOL", 0.0)  # no float32 product is exact
    code, report = doctor_json(invoke, "--out", out)
    checks = by_name(report)
    assert code == 1 and checks["CPU"]["ok"] is False and checks["training (cpu)"]["ok"] is None


def test_version_floors(monkeypatch):
    assert doctor_checks.version_tuple("2.13.0+cpu") == (2, 13, 0)
    assert doctor_checks.version_tuple("1.26.4rc1") == (1, 26, 4)
    assert doctor_checks.version_tuple("3.7") >= doctor_checks.MIN_VERSIONS["matplotlib"]
    assert doctor_checks.version_tuple("2.0.1") < doctor_checks.MIN_VERSIONS["torch"]
    monkeypatch.setitem(doctor_checks.MIN_VERSIONS, "numpy", (999,))
    check = doctor_checks.check_library("numpy")
    assert check.ok is False and check.fix.startswith("need >= 999")


# ----------------------------------------------------------------------------------------------------
# --device


@pytest.mark.parametrize(("cuda", "mps", "auto"), [
    (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"), (True, True, "cuda"),
])
def test_auto_takes_cuda_then_mps_then_cpu(cuda, mps, auto):
    def available():
        return cuda, mps

    assert resolve_device("auto", available) == auto
    assert resolve_device("cpu", available) == "cpu"
    for name, present in (("cuda", cuda), ("mps", mps)):
        if present:
            assert resolve_device(name, available) == name
        else:
            with pytest.raises(UserError, match=f"--device {name}: no .* available here"):
                resolve_device(name, available)


def test_cpu_probes_nothing_and_unknown_devices_are_refused():
    def explode():
        raise AssertionError("probed")

    assert resolve_device("cpu", explode) == "cpu"
    with pytest.raises(UserError, match="'tpu' is not one of auto, cpu, cuda, mps"):
        resolve_device("tpu", explode)


def test_the_real_probe_and_describe():
    cuda, mps = probe()
    assert isinstance(cuda, bool) and isinstance(mps, bool)
    assert describe("cpu").startswith("cpu (") and describe("mps").startswith("mps (Apple GPU")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_asking_for_an_absent_device_is_one_line_exit_2(fake_command, invoke, out, device, monkeypatch):
    import nnlab.core.device

    monkeypatch.setattr(nnlab.core.device, "probe", lambda: (False, False))
    for args in (["doctor", "--out", out, "--device", device], ["fake", "--quick", "--device", device]):
        refused(invoke(*args), f"--device {device}: no ")


def test_doctor_device_cpu_trains_only_on_the_cpu_and_bad_choices_exit_2(invoke, out):
    code, report = doctor_json(invoke, "--out", out, "--device", "cpu")
    assert code == 0 and [c["name"] for c in report["checks"] if c["group"] == "smoke"] == ["training (cpu)"]
    refused(invoke("doctor", "--device", "tpu"))


def test_a_cuda_build_without_a_gpu_is_a_warning():
    """Issue 25: the multi-GB CUDA build on a machine with no GPU is said, with what to do."""
    from nnlab.doctor.checks import cuda_absent

    assert cuda_absent(None) == "absent (CPU build of torch)"
    assert "warning: torch is a CUDA 12.8 build" in cuda_absent("12.8") and "CPU build" in cuda_absent("12.8")


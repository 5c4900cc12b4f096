"""The checks of `nnlab doctor`: versions, devices, data, places on disk, and a smoke training.

Each check gives a Check: ok is True (✓), False (✗, with a one-line fix) or None (absent or skipped:
neutral, e.g. no CUDA device on a laptop). Checks never raise: an unexpected error is a ✗ naming it.
torch, numpy and matplotlib are imported inside the checks, so a broken install is reported, not fatal.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Oldest versions nnlab supports: the same floors as pyproject.toml's requires-python and dependencies.
MIN_VERSIONS = {"python": (3, 10), "torch": (2, 1), "numpy": (1, 24), "matplotlib": (3, 7)}

# A device's float32 matmul (64 x 64, standard normal entries) against numpy's float64 product: the
# largest error relative to the largest entry. Correct float32 kernels land near 1e-6 and TF32 (10-bit
# mantissa) near 1e-3; a wrong kernel is off by O(1). So 1e-2 passes every correct mode and fails a wrong one.
MATMUL_SIZE = 64
MATMUL_RTOL = 1e-2

# Bytes a full lecture run writes under --out: every command at its defaults plus every recipe in recipes/
# (20 run directories). Measured with `du -sb` on this project's 2-core machine (torch 2.13.0): the 17 runs
# that finished wrote 12.9 MB (0.2-1.6 MB each: plots, metrics, summaries); train-mnist-dropout, stopped
# after 2 of its 10 epochs, had written 15.0 MB, nearly all its one checkpoint (last.pt, overwritten each
# epoch, so its size does not grow); train-mnist-mlp's checkpoint was estimated from its 535k parameters
# (weights + two Adam moments, float32: 6.4 MB) and train-mnist.yaml as the default run (0.5 MB). About 36 MB.
# The check asks for DISK_MARGIN times that, so reruns fit.
FULL_RUN_BYTES = 36_000_000
DISK_MARGIN = 4
# The decoded MNIST cache (one uncompressed .npz): 70,000 images of 28 x 28 bytes plus labels, about 55 MB.
CACHE_BYTES = 55_000_000

# The smoke training: a 784-32-10 ReLU MLP, seeded, on the first SMOKE_IMAGES training images, SMOKE_STEPS
# SGD steps (momentum 0.9) on minibatches of SMOKE_BATCH drawn by a seeded CPU generator, so every device
# starts from the same weights and sees the same batches. The loss is the mean cross-entropy on those
# images after training (the untrained network gives about 2.3 = ln 10).
SMOKE_SEED = 0
SMOKE_IMAGES = 512
SMOKE_STEPS = 60
SMOKE_BATCH = 64
SMOKE_LR = 0.05
# Where the final loss must land. Measured on this machine's CPU (torch 2.13.0, 1 and 2 threads alike):
# seed 0 gives 0.0636; seeds 0-19 (smoke_loss(..., seed=s)) gave 0.028 to 0.108. The range is that spread,
# widened: another device's rounding moves the loss far less than a change of seed does, while a device
# that computes wrong, or a network that does not learn, lands near 2.3 or at nan.
SMOKE_LOSS_RANGE = (0.01, 0.25)


@dataclass
class Check:
    group: str   # versions, devices, data, places, smoke
    name: str
    ok: bool | None  # None: absent or skipped, neither passed nor failed
    detail: str
    fix: str = ""    # one line, only when ok is False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def guarded(group: str, name: str, fn: Callable[[], Check]) -> Check:
    """fn(), or a ✗ naming the unexpected error: the doctor reports every check, whatever breaks."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check
        return Check(group, name, False, f"{type(exc).__name__}: {exc}",
                     "unexpected error in this check; rerun `nnlab doctor --json` and report it")


def version_tuple(text: str) -> tuple[int, ...]:
    """The leading numbers of a version string: '2.13.0+cpu' -> (2, 13, 0), '1.26.4rc1' -> (1, 26, 4)."""
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


# ----------------------------------------------------------------------------------------------------
# Versions


def check_versions() -> list[Check]:
    import platform

    from nnlab import version

    checks = []
    low = ".".join(map(str, MIN_VERSIONS["python"]))
    checks.append(Check("versions", "python", sys.version_info[:2] >= MIN_VERSIONS["python"],
                        f"{platform.python_version()} ({sys.executable})",
                        "" if sys.version_info[:2] >= MIN_VERSIONS["python"] else f"install Python >= {low}"))
    checks.append(Check("versions", "nnlab", True, f"{version.__version__} ({Path(version.__file__).parent})"))
    for name in ("torch", "numpy", "matplotlib"):
        checks.append(guarded("versions", name, lambda name=name: check_library(name)))
    return checks


def check_library(name: str) -> Check:
    low = ".".join(map(str, MIN_VERSIONS[name]))
    pin = "torch==2.13.0" if name == "torch" else f"'{name}>={low}'"
    try:
        module = __import__(name)
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken binary raising anything
        return Check("versions", name, False, f"cannot import: {type(exc).__name__}: {exc}", f"pip install {pin}")
    version = str(getattr(module, "__version__", "unknown"))
    ok = version_tuple(version) >= MIN_VERSIONS[name]
    detail = version
    if name == "torch":
        if module.version.cuda:
            detail += f", CUDA {module.version.cuda} build"
        elif getattr(module.version, "hip", None):
            detail += f", ROCm {module.version.hip} build"
        else:
            detail += ", CPU build"
    return Check("versions", name, ok, detail, "" if ok else f"need >= {low}: pip install {pin}")


# ----------------------------------------------------------------------------------------------------
# Devices


def matmul_error(device: str) -> float:
    """Max |torch float32 product on `device` - numpy float64 product| / max |numpy product|."""
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE)).astype(np.float32) for _ in range(2))
    got = (torch.from_numpy(a).to(device) @ torch.from_numpy(b).to(device)).cpu().double().numpy()
    want = a.astype(np.float64) @ b.astype(np.float64)
    return float(np.abs(got - want).max() / np.abs(want).max())


def matmul_check(name: str, device: str, detail: str, fix: str) -> Check:
    err = matmul_error(device)
    ok = err <= MATMUL_RTOL  # also False for nan
    return Check("devices", name, ok, f"{detail}; matmul error {err:.1e} (limit {MATMUL_RTOL:g})",
                 "" if ok else fix)


def check_cpu() -> Check:
    import torch

    from nnlab.core.device import available_cores

    threads = torch.get_num_threads()
    detail = f"torch uses {threads} thread{'s' * (threads != 1)} of {available_cores()} available cores"
    return matmul_check("CPU", "cpu", detail, "torch's CPU matmul is wrong: reinstall torch (pip install "
                        "--force-reinstall torch==2.13.0)")


def check_cuda(available: bool) -> Check:
    import torch

    if not available:
        return Check("devices", "CUDA", None, cuda_absent(torch.version.cuda))
    props = torch.cuda.get_device_properties(0)
    count = torch.cuda.device_count()
    detail = (f"{props.name}, {props.total_memory / 2**30:.1f} GiB, capability {props.major}.{props.minor}"
              + (f" (device 0 of {count})" if count > 1 else ""))
    return matmul_check("CUDA", "cuda", detail, f"CUDA results are wrong: install a torch build that supports "
                        f"capability {props.major}.{props.minor}, or use --device cpu")


def cuda_absent(cuda_build: str | None) -> str:
    """What the CUDA row says without a GPU; a CUDA build of torch there is gigabytes of libraries for nothing."""
    if not cuda_build:
        return "absent (CPU build of torch)"
    return (f"absent; warning: torch is a CUDA {cuda_build} build (several GB of GPU libraries) on a machine with "
            "no GPU or driver: the CPU build does the same here and is far smaller (README, Set up)")


def check_mps(available: bool) -> Check:
    from nnlab.core.device import mps_built

    built = mps_built()
    if not available:
        return Check("devices", "MPS", None, "absent (" + ("built, but no Apple GPU here" if built
                                                            else "this torch is built without MPS") + ")")
    return matmul_check("MPS", "mps", "Apple GPU, built and available", "MPS results are wrong: update macOS "
                        "and torch, or use --device cpu")


# ----------------------------------------------------------------------------------------------------
# Data


def check_data(data_dir: str | None) -> tuple[list[Check], dict[str, Any] | None]:
    """The four MNIST files' SHA-256 and the decoded cache; also the decoded arrays (None when any file fails)."""
    from nnlab.data import mnist

    folder = mnist.data_dir_for(data_dir)
    source = ("--data-dir" if data_dir is not None else f"${mnist.DATA_ENV}" if os.environ.get(mnist.DATA_ENV)
              else "the copy shipped in the package" if folder == mnist.PACKAGE_DIR else "the download cache")
    checks = [Check("data", "MNIST folder", folder.is_dir(), f"{folder} (from {source})",
                    "" if folder.is_dir() else f"no such folder: fix --data-dir / ${mnist.DATA_ENV}, or unset it")]
    arrays: dict[str, Any] = {}
    paths: dict[str, Path] = {}
    for key, name in mnist.FIELDS.items():
        check, array, path = check_file(folder, name)
        checks.append(check)
        if array is not None:
            arrays[key], paths[name] = array, path
    if len(arrays) < len(mnist.FIELDS):
        checks.append(Check("data", "decoded cache", None, "skipped (needs the four files above)"))
        return checks, None
    checks.append(guarded("data", "decoded cache", lambda: check_cache(paths, arrays)))
    return checks, arrays


def check_file(folder: Path, name: str) -> tuple[Check, Any, Path | None]:
    from nnlab.data import mnist

    path = mnist.find(folder, name)
    if path is None:
        return (Check("data", name, False, f"missing from {folder}", "any MNIST command downloads it (needs the "
                      f"internet), or point --data-dir / ${mnist.DATA_ENV} at a folder with the four .gz files"),
                None, None)
    try:
        raw = mnist.read_file(path)
        mnist.check_sha256(raw, name, path)
        array = mnist.parse_idx(raw, str(path))
    except mnist.MnistError as exc:
        fix = (f"delete {path}; the next MNIST command downloads it again" if folder != mnist.PACKAGE_DIR
               else "reinstall nnlab (pip install --force-reinstall -e .): its shipped copy is damaged")
        return Check("data", name, False, str(exc).removeprefix(f"{path}: "), fix), None, None
    return Check("data", name, True, f"SHA-256 {mnist.FILES[name][0][:12]}... matches ({path.name})"), array, path


def check_cache(paths: dict[str, Path], arrays: dict[str, Any]) -> Check:
    import numpy as np

    from nnlab.data import mnist

    entry = mnist.cache_dir() / f"mnist-{mnist.cache_key(paths)}.npz"
    if not entry.is_file():
        return Check("data", "decoded cache", None, f"absent ({entry}); the next MNIST command writes it")
    cached = mnist.read_cache(entry)
    fix = f"delete {entry}; the next MNIST command decodes the files again"
    if cached is None:
        return Check("data", "decoded cache", False, f"{entry} is unreadable (CRC-32, zip or shape error)", fix)
    differ = [key for key in mnist.FIELDS if not np.array_equal(cached[key], arrays[key])]
    if differ:
        return Check("data", "decoded cache", False, f"{entry} differs from the files in {', '.join(differ)}", fix)
    return Check("data", "decoded cache", True, f"{entry} readable, equal to the files")


# ----------------------------------------------------------------------------------------------------
# Places on disk


def nearest_existing(path: Path) -> Path:
    """`path` or its closest ancestor that exists (what a mkdir -p would start from)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(name: str, path: Path, option: str) -> Check:
    """Can a directory be created and written at `path`? Tried for real in a temporary folder, removed after."""
    base = nearest_existing(path)
    if not base.is_dir():
        return Check("places", name, False, f"{path} cannot be created: {base} is a file",
                     f"choose another {option} or move {base} away")
    try:
        probe = Path(tempfile.mkdtemp(prefix=".nnlab-doctor-", dir=base))
        try:
            (probe / "probe.txt").write_text("ok\n")
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    except OSError as exc:
        return Check("places", name, False, f"{path}: cannot write in {base} ({exc.strerror or exc})",
                     f"choose another {option} or make {base} writable")
    state = "exists" if base == Path(os.path.abspath(path)) else f"will be created in {base}"
    return Check("places", name, True, f"{path} ({state}, writable)")


def check_disk(name: str, path: Path, need: int, what: str) -> Check:
    free = shutil.disk_usage(nearest_existing(path)).free
    ok = free >= need
    return Check("places", name, ok, f"{free / 1e9:.1f} GB free at {nearest_existing(path)}, "
                 f"{what} needs {need / 1e6:.0f} MB", "" if ok else f"free some space or choose another {name}")


def check_places(out: str) -> list[Check]:
    from nnlab.data import mnist

    out_path, cache = Path(out).expanduser(), mnist.cache_dir()
    return [
        guarded("places", "output directory", lambda: check_writable("output directory", out_path, "--out")),
        guarded("places", "cache directory", lambda: check_writable("cache directory", cache, f"${mnist.CACHE_ENV}")),
        guarded("places", "disk (output)", lambda: check_disk(
            "disk (output)", out_path, DISK_MARGIN * FULL_RUN_BYTES, f"{DISK_MARGIN} full lecture runs")),
        guarded("places", "disk (cache)", lambda: check_disk("disk (cache)", cache, CACHE_BYTES, "the MNIST cache")),
    ]


# ----------------------------------------------------------------------------------------------------
# The smoke training


def smoke_loss(device: str, images: Any, labels: Any, seed: int = SMOKE_SEED) -> tuple[float, float]:
    """Train the smoke MLP on `device` (see SMOKE_*); (final mean loss on its images, seconds)."""
    import torch
    from torch.nn.functional import cross_entropy

    from nnlab.data.mnist import MEAN, STD
    from nnlab.nn.models import mlp

    with torch.random.fork_rng(devices=[]):  # the caller's global RNG state is left as it was
        torch.manual_seed(seed)
        model = mlp([32], "relu")  # built on the CPU: the same weights on every device
    gen = torch.Generator().manual_seed(seed)
    batches = torch.randint(0, SMOKE_IMAGES, (SMOKE_STEPS, SMOKE_BATCH), generator=gen)
    x = torch.from_numpy(images[:SMOKE_IMAGES]).float().div(255).sub(MEAN).div(STD)
    y = torch.from_numpy(labels[:SMOKE_IMAGES]).long()
    start = time.perf_counter()
    model, x, y, batches = model.to(device), x.to(device), y.to(device), batches.to(device)
    # SGD with momentum written out (torch.optim.SGD's rule, v <- 0.9 v + g, p <- p - lr v): torch.optim would
    # import torch._dynamo (nnlab.nn.param_rules: why that matters, and how to measure it)
    params = list(model.parameters())
    velocity = [torch.zeros_like(p) for p in params]
    for idx in batches:
        grads = torch.autograd.grad(cross_entropy(model(x[idx]), y[idx]), params)
        with torch.no_grad():
            for p, v, g in zip(params, velocity, grads, strict=True):
                p.sub_(v.mul_(0.9).add_(g), alpha=SMOKE_LR)
    with torch.no_grad():
        loss = float(cross_entropy(model(x), y))  # float() waits for the device: the time includes every kernel
    return loss, time.perf_counter() - start


def check_smoke(device: str, arrays: dict[str, Any] | None) -> Check:
    name = f"training ({device})"
    if arrays is None:
        return Check("smoke", name, None, "skipped (needs the MNIST files above)")
    loss, seconds = smoke_loss(device, arrays["train_images"], arrays["train_labels"])
    low, high = SMOKE_LOSS_RANGE
    ok = low <= loss <= high  # False for nan
    detail = (f"{SMOKE_STEPS} SGD steps on {SMOKE_IMAGES} images: loss {loss:.4f} "
              f"(expected {low:g} to {high:g}), {seconds:.2f} s")
    fix = ("" if ok else "the smoke training did not reach the measured loss: this device computes wrong "
           "(compare --device cpu) or torch is broken; reinstall torch")
    return Check("smoke", name, ok, detail, fix)


# ----------------------------------------------------------------------------------------------------
# All of them


def run_checks(out: str, data_dir: str | None, device: str,
               available: Callable[[], tuple[bool, bool]] | None = None) -> list[Check]:
    """Every check, in table order. `device`: all (each available device) or a --device choice."""
    checks = check_versions()
    if not all(c.ok for c in checks if c.name in ("torch", "numpy")):
        checks.append(Check("devices", "devices", None, "skipped (needs torch and numpy)"))
        checks += check_places(out)
        return checks

    from nnlab.core.device import probe, resolve_device

    cuda, mps = (available or probe)()
    if device == "all":
        smoke_devices = ["cpu"] + ["cuda"] * cuda + ["mps"] * mps
    else:
        smoke_devices = [resolve_device(device, lambda: (cuda, mps))]  # UserError for an absent device
    checks += [guarded("devices", "CPU", check_cpu),
               guarded("devices", "CUDA", lambda: check_cuda(cuda)),
               guarded("devices", "MPS", lambda: check_mps(mps))]
    data_checks, arrays = check_data(data_dir)
    checks += data_checks
    checks += check_places(out)
    for dev in smoke_devices:
        if next(c for c in checks if c.name == dev.upper()).ok is False:  # its matmul already failed
            checks.append(Check("smoke", f"training ({dev})", None, f"skipped ({dev.upper()} failed above)"))
            continue
        checks.append(guarded("smoke", f"training ({dev})", lambda dev=dev: check_smoke(dev, arrays)))
    return checks

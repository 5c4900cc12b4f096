#!/usr/bin/env bash
# Every GPU measurement nnlab wants, in one call (a lent GPU machine runs one prepared script):
#   PYTHONPATH=$PWD bash benchmarks/gpu_session.sh [OUT_DIR]
# 1. the CUDA tests (tests/test_cuda.py: training in bf16/fp16/float32, resume, evaluation against the CPU);
# 2. time to 99% on the GPU, our recipe (3 seeds) against the pytorch/examples recipe, same process;
# 3. the same with larger batches, the usual first change for a GPU (one seed each, no baseline);
# 4. where `nnlab train-mnist`'s wall time goes on this machine (phases, 3 repeats).
# Each step has its own time limit and writes its output to OUT_DIR (default $OUT, else gpu-results), so a
# step that fails or hangs still leaves the others' numbers; all limits together: about 8 minutes, one call
# of a lent machine. Uses python3 as found (its torch must see the GPU).
set -u
out=${1:-${OUT:-gpu-results}}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # this checkout first
step() {  # step NAME SECONDS COMMAND...: run it, keep its output, say how it ended
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s)"
    timeout -k 10 "$limit" "$@" >"$out/$name.txt" 2>&1  # TERM asks nnlab to stop; KILL 10 s later
    echo "   exit $? after ${SECONDS}s in all; output: $out/$name.txt"
    tail -n 8 "$out/$name.txt"
}
{
    nvidia-smi
    python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"
    # what every step imports besides torch (pytest: the tests; PIL: the pytorch/examples baseline)
    python3 -c "import click, matplotlib, numpy, PIL, pytest, rich, yaml; print('libraries: ok')"
} >"$out/device.txt" 2>&1
cat "$out/device.txt"
step cuda-tests 120 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py
step mnist-speed 200 python3 benchmarks/mnist_speed.py --device cuda --json "$out/mnist-speed.json"
for batch in 512 2048; do
    step "mnist-speed-batch-$batch" 45 python3 benchmarks/mnist_speed.py --device cuda --seeds 1 --skip-baseline \
        --set "batch_size=$batch"
done
step phases 75 python3 benchmarks/phases.py --only train-mnist --repeats 3 --json "$out/phases.json"

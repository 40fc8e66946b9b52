#!/usr/bin/env bash
# The GPU session's checks in one command, for the device tool (an H100/H200 with nvcc, PyTorch and
# compute-sanitizer, no network): build pyml._C for sm_90 into build/gpu, then run the stages named
# on the command line (default: all) and write each log under $OUT:
#   tests     the CUDA tests (tests/cuda, tests/test_cuda.py) and the rest of the suite on the CPU
#   memcheck  compute-sanitizer memcheck over the CUDA tests
#   racecheck compute-sanitizer racecheck over the kernels that share memory between threads
#   bench     python -m bench --device cuda (GB/s against the measured copy bandwidth, vs torch)
#   train     python -m bench.gpu_train: GPT-2-small bf16 autocast training, pyml vs torch tokens/s and losses
# Usage there: bash tools/gpu-check.sh [stage...]   (each run call is limited to 10 minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pyml-gpu-out}
mkdir -p "$OUT"
export PYTHON=${PYTHON:-python3} PYTHONUNBUFFERED=1
stages=${*:-tests memcheck racecheck bench}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
start=$(date +%s)
if ! BUILD_DIR=build/gpu JOBS=16 ./tools/dev-build.sh -DPYML_CUDA_ARCHS=90 > "$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"; exit 1
fi
echo "build: $(( $(date +%s) - start )) s"
run() {  # run NAME CMD...: log to $OUT/NAME.log, print its tail
  local name=$1; shift
  local t0=$(date +%s)
  "$@" > "$OUT/$name.log" 2>&1
  echo "== $name: exit $? in $(( $(date +%s) - t0 )) s"; tail -5 "$OUT/$name.log"
}
for s in $stages; do
  case $s in
    tests) run tests $PYTHON -m pytest -q --maxfail=25 -p no:cacheprovider tests/cuda tests/test_cuda.py ;;
    cpu) run cpu $PYTHON -m pytest -q -p no:cacheprovider --ignore=tests/cuda ;;
    memcheck) run memcheck compute-sanitizer --tool memcheck --error-exitcode 3 \
                $PYTHON -m pytest -q -x -p no:cacheprovider tests/cuda tests/test_cuda.py ;;
    racecheck) run racecheck compute-sanitizer --tool racecheck --error-exitcode 3 \
                 $PYTHON -m pytest -q -x -p no:cacheprovider tests/cuda/test_reduce_cuda.py tests/cuda/test_sort_cuda.py \
                 tests/cuda/test_index_cuda.py tests/cuda/test_linalg_cuda.py tests/cuda/test_conv_cuda.py \
                 tests/cuda/test_pool_cuda.py tests/cuda/test_attention_cuda.py tests/cuda/test_nn_cuda.py \
                 tests/cuda/test_gemm_tc_cuda.py tests/cuda/test_gemm_wgmma_cuda.py tests/cuda/test_attention_tc_cuda.py \
                 tests/cuda/test_attention_wgmma_cuda.py tests/cuda/test_conv_tc_cuda.py tests/cuda/test_pool_tc_cuda.py ;;
    bench) run bench $PYTHON -m bench --device cuda --out "$OUT" ;;
    train) run train $PYTHON -m bench.gpu_train --device cuda --dtype bf16 --steps 30 --out "$OUT/train-cuda.json" ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

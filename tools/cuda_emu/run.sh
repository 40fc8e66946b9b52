#!/usr/bin/env bash
# tools/cuda_emu/run.sh ARGS...: runs `python ARGS` from the checkout with the emulated _C (built by
# build.sh) in pyml/, then puts build/dev's real one back. Example:
#   tools/cuda_emu/run.sh -m pytest -q tests/cuda
# EMU_CC_MAJOR=8: the emulated device is an sm_80 (default sm_90), for the pre-Hopper paths.
# The emulator checks logic (indexing, barriers, tails), not speed or timing; it runs blocks one
# after another, so races between blocks and memory-ordering bugs stay invisible.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SO=$(basename "$(ls "$ROOT"/build/dev/_C*.so)")
cp -f "$ROOT/build/emu/$SO" "$ROOT/pyml/"
cd "$ROOT"
PYTHONPATH=$ROOT python "$@"
rc=$?
cp -f "$ROOT/build/dev/$SO" "$ROOT/pyml/"
exit $rc

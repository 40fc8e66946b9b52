#!/usr/bin/env bash
# tools/cuda_emu/run.sh ARGS...: runs `python ARGS` from the checkout with the emulated _C (built by
# build.sh) in pyml/, then puts build/dev's real one back. Example:
#   tools/cuda_emu/run.sh -m pytest -q tests/cuda
# EMU_CC_MAJOR=8: the emulated device is an sm_80 (default sm_90), for the pre-Hopper paths.
# The emulator checks logic (indexing, barriers, tails), not speed or timing; it runs blocks one
# after another, so races between blocks and memory-ordering bugs stay invisible.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Each swap writes a temporary file and renames it over the old one: a process that has the library
# mapped keeps its own copy (cp -f rewrote it in place, and such processes died with SIGBUS).
SO=$(basename "$(ls "$ROOT"/build/dev/_C*.so)")
swap_in() { cp -f "$1" "$ROOT/pyml/.$SO.tmp" && mv -f "$ROOT/pyml/.$SO.tmp" "$ROOT/pyml/$SO"; }
swap_in "$ROOT/build/emu/$SO"
cd "$ROOT"
PYTHONPATH=$ROOT python "$@"
rc=$?
swap_in "$ROOT/build/dev/$SO"
exit $rc

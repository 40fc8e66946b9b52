#!/usr/bin/env bash
# Incremental developer build: compiles pyml._C into build/dev and links it into pyml/ so that
# `python -c "import pyml"` works from the checkout. `pip install .` is the user-facing build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build/dev}
PY=${PYTHON:-python}
# one build at a time per build dir (helpers and tools/cuda_emu/build.sh share build/dev)
mkdir -p "$BUILD"
exec 9>"$BUILD/.dev-build.lock"
flock 9
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PY)" "$@"
fi
ninja -C "$BUILD" -j "${JOBS:-2}"
# copy then rename: a new inode, so running processes (tests, helpers) keep the file they mapped
# (cp over the old file rewrites it in place, and they die with SIGBUS or SIGSEGV)
for so in "$BUILD"/_C*.so; do
  cp -f "$so" "pyml/.$(basename "$so").tmp" && mv -f "pyml/.$(basename "$so").tmp" "pyml/$(basename "$so")"
done

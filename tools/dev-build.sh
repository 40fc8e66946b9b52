#!/usr/bin/env bash
# Incremental developer build: compiles pyml._C into build/dev and links it into pyml/ so that
# `python -c "import pyml"` works from the checkout. `pip install .` is the user-facing build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build/dev}
PY=${PYTHON:-python}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" -DPython_EXECUTABLE="$(command -v $PY)" "$@"
fi
ninja -C "$BUILD" -j "${JOBS:-2}"
cp -f "$BUILD"/_C*.so pyml/

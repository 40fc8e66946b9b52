#!/usr/bin/env bash
# Builds pyml._C with the CUDA kernels emulated on the CPU (for machines without a GPU): each
# cuda/*.cu is rewritten by transform.py (launches become emu::launch calls) and compiled by g++
# against prelude.h, whose threads are fibers (emu.cpp) with real barriers and warp shuffles; the
# host objects come from build/dev (run tools/dev-build.sh first). EMU_EXACT_ALLOC=1 swaps the
# caching allocator for exact-size heap blocks (with EMU_FLAGS=-fsanitize=address, out-of-bounds
# accesses hit a redzone). Output: build/emu/_C*.so; tools/cuda_emu/run.sh runs tests with it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E=$ROOT/tools/cuda_emu
OUT=${EMU_OUT:-$ROOT/build/emu}
mkdir -p "$OUT/src" "$OUT/obj"
# build/dev's objects are linked below: wait for a running tools/dev-build.sh, and one emu build per output dir
exec 8>"$ROOT/build/dev/.dev-build.lock" 9>"$OUT/.emu-build.lock"
flock 9
CUDA_INC=${CUDA_HOME:-/usr/local/cuda}/targets/x86_64-linux/include
FLAGS="-std=c++17 -O1 -g -fPIC -fno-strict-aliasing -DPYML_WITH_CUDA=1 -DPYML_CUDA_EMU=1 -I$E -I$ROOT/csrc -I$ROOT -I$ROOT/cuda -isystem $CUDA_INC -w ${EMU_FLAGS:-}"
for f in "$ROOT"/cuda/*.cuh; do python3 "$E/transform.py" "$f" "$OUT/src/$(basename "$f")" 0; done
pids=()
for f in "$ROOT"/cuda/*.cu; do
  b=$(basename "$f" .cu)
  if [ -n "${EMU_EXACT_ALLOC:-}" ] && [ "$b" = allocator ]; then rm -f "$OUT/obj/allocator.o"; continue; fi
  python3 "$E/transform.py" "$f" "$OUT/src/$b.cpp" 1
  o=$OUT/obj/$b.o
  if [ ! -f "$o" ] || [ "$OUT/src/$b.cpp" -nt "$o" ] || [ "$E/prelude.h" -nt "$o" ] || [ -n "$(find "$ROOT/cuda" "$ROOT/csrc" -name '*.h*' -newer "$o")" ] || [ -n "$(cd "$ROOT/cuda" && grep -o '#include "[a-z_]*\.cuh"' "$f" | cut -d'"' -f2 | xargs -r -I{} find {} -newer "$o")" ]; then
    g++ $FLAGS -c "$OUT/src/$b.cpp" -o "$o" &
    pids+=($!)
    if [ ${#pids[@]} -ge "${JOBS:-2}" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
g++ $FLAGS -c "$E/emu.cpp" -o "$OUT/obj/emu.o"
rm -f "$OUT/obj/emu_alloc.o"
if [ -n "${EMU_EXACT_ALLOC:-}" ]; then g++ $FLAGS -c "$E/emu_alloc.cpp" -o "$OUT/obj/emu_alloc.o"; fi
flock 8
cd "$ROOT/build/dev"
OBJS=$(ninja -t commands | grep -E "\-shared" | tail -1 | tr ' ' '\n' | grep '\.o$' | grep -v 'cuda/.*\.cu\.o')
SO=$(basename "$(ls "$ROOT"/build/dev/_C*.so)")
g++ -shared -fPIC ${EMU_LDFLAGS:-} -o "$OUT/$SO" $OBJS "$OUT"/obj/*.o -lgomp -lpthread -ldl
echo "built $OUT/$SO"

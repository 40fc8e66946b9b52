"""Rewrites CUDA source for the CPU emulator: kernel<<<g, b, smem, s>>>(args) -> ::emu::launch(kernel, g, b, smem, s)(args)."""
import re, sys
src, dst, prelude = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
s = open(src).read()
name = r'(?:[A-Za-z_][\w:]*(?:<(?:[^;{}<>]|<[^;{}<>]*>)*>)?|\([^()]*\))'
s = re.sub(r'(' + name + r')\s*<<<(.*?)>>>\s*\(', r'::emu::launch(\1, \2)(', s, flags=re.S)
s = re.sub(r'__shared__\s+(alignas\(\w+\))', r'\1 __shared__', s)
head = ('#include "prelude.h"\n' if prelude else '') + '#line 1 "%s"\n' % src
out = head + s
try:
    same = open(dst).read() == out
except OSError:
    same = False
if not same:  # keep the timestamp of unchanged sources so build.sh recompiles only what changed
    open(dst, 'w').write(out)

"""`pyml info` and `python -m pyml info` print the build facts."""
import os
import subprocess
import sys

import pyml


def _run(args):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(pyml.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "pyml"] + args, capture_output=True, text=True, env=env, timeout=60)


def test_info_prints_build_facts():
    r = _run(["info"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"pyml {pyml.__version__}" in out
    assert f"SIMD level:      {pyml.info()['simd']}" in out
    assert pyml.info()["simd"] in ("avx512", "avx2", "generic")
    assert f"threads:         {pyml.get_num_threads()}" in out
    assert "CUDA compiled:   " + ("yes" if pyml.info()["cuda_compiled"] else "no") in out
    assert "GPU available:" in out


def test_unknown_command_fails():
    r = _run(["frobnicate"])
    assert r.returncode != 0
    assert "invalid choice" in r.stderr

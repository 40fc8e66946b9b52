"""`pyml info` and `python -m pyml info` print the build facts."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import pyml


def _run(args, exe=None):
    # run outside the checkout so `python -m` imports the same pyml the tests import
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(pyml.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [exe] + args if exe else [sys.executable, "-m", "pyml"] + args
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


def _check_info(out):
    assert f"pyml {pyml.__version__}" in out
    assert f"SIMD level:      {pyml.info()['simd']}" in out
    assert pyml.info()["simd"] in ("avx512", "avx2", "generic")
    assert f"threads:         {pyml.get_num_threads()}" in out
    assert "CUDA compiled:   " + ("yes" if pyml.info()["cuda_compiled"] else "no") in out
    assert "GPU available:" in out


def test_python_m_pyml_info():
    r = _run(["info"])
    assert r.returncode == 0, r.stderr
    _check_info(r.stdout)


def test_console_script_info():
    exe = shutil.which("pyml")
    if exe is None:
        pytest.skip("the pyml console script is installed by `pip install .`; this run uses a dev build")
    r = _run(["info"], exe=exe)
    assert r.returncode == 0, r.stderr
    _check_info(r.stdout)


def test_unknown_command_fails():
    r = _run(["frobnicate"])
    assert r.returncode != 0
    assert "invalid choice" in r.stderr

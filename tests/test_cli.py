"""`pyml info` prints the build facts; `pyml demo --quick` trains the digits CNN, in process and via
`python -m pyml`."""
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
    threads = int(out.split("threads:", 1)[1].split()[0])  # a fresh process: the engine's default count
    assert 1 <= threads <= max(os.cpu_count() or 1, 1)
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


def _demo_report(out, folder):
    lines = out.splitlines()
    acc = [line for line in lines if line.startswith("test accuracy: ")]
    speed = [line.split()[2] for line in lines if line.startswith("training speed: ")]
    assert len(acc) == 1 and len(speed) == 1 and speed[0].isdigit() and int(speed[0]) > 0, out
    for name in ("digits_lenet.pyml", "loss_curve.png"):
        path = os.path.join(folder, name)
        assert os.path.getsize(path) > 1000, path
    with open(os.path.join(folder, "loss_curve.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return float(acc[0].split()[2].rstrip("%")) / 100


def test_demo_quick_in_process(tmp_path, capsys, monkeypatch):
    from pyml.cli import main
    monkeypatch.chdir(tmp_path)
    threads = pyml.get_num_threads()
    assert main(["demo", "--quick", "--epochs", "4"]) == 0  # runs on one thread, then restores the count
    out = capsys.readouterr().out
    assert _demo_report(out, str(tmp_path / "pyml-demo")) >= 0.9
    assert "epoch 4/4" in out and "epoch 5/" not in out
    assert pyml.get_num_threads() == threads
    ckpt = pyml.load(str(tmp_path / "pyml-demo" / "digits_lenet.pyml"))
    assert ckpt["epoch"] == 4 and ckpt["history"]["val_accuracy"][-1] >= 0.9


def test_demo_quick_python_m(tmp_path):
    r = _run(["demo", "--quick", "--seed", "1", "--out", str(tmp_path / "out")])
    assert r.returncode == 0, r.stderr
    assert _demo_report(r.stdout, str(tmp_path / "out")) >= 0.9


def test_demo_bad_arguments():
    r = _run(["demo", "--epochs", "0"])
    assert r.returncode == 2 and "--epochs" in r.stderr

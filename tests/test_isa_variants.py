"""The AVX2 and generic copies of the CPU kernels, checked on whatever CPU runs the suite.

pyml compiles each SIMD kernel once per instruction set and picks the best one the CPU runs, so a
suite on an AVX-512 machine would otherwise never execute the copies that AVX2-only and older CPUs
get. Each lesser instruction set this CPU supports reruns the kernel test modules in a subprocess
(tests/conftest.py switches the kernel tables when PYML_TEST_CPU_ISA is set).
"""
import os
import subprocess
import sys

import pytest

import pyml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_TESTS = ["tests/test_elementwise.py", "tests/test_reduce.py", "tests/test_gemm.py", "tests/test_gelu_kernel.py",
                "tests/test_activation_backward.py", "tests/nn/test_conv_fast.py", "tests/nn/test_conv_phase.py",
                "tests/nn/test_pool_fast.py", "tests/nn/test_layer_norm_rows.py", "tests/nn/test_cross_entropy.py",
                "tests/nn/test_cross_entropy_fused_grad.py", "tests/nn/test_attention.py", "tests/nn/test_norm.py",
                "tests/nn/test_embedding.py", "tests/optim/test_optimizers.py"]


def supported(isa):
    best = pyml._C.cpu_isa()
    try:
        pyml._C._set_cpu_isa(isa)
        return True
    except ValueError:
        return False
    finally:
        pyml._C._set_cpu_isa(best)


def test_set_cpu_isa_rejects_unknown_names():
    with pytest.raises(ValueError, match="_set_cpu_isa: expected an instruction set.*got 'sse4'"):
        pyml._C._set_cpu_isa("sse4")


@pytest.mark.parametrize("isa", ["avx2", "generic"])
def test_kernel_tests_pass_under(isa, tmp_path):
    if isa == pyml._C.cpu_isa() or not supported(isa):
        pytest.skip(f"{isa} is this CPU's default ({pyml._C.cpu_isa()}) or not supported by it")
    env = dict(os.environ, PYML_TEST_CPU_ISA=isa)
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-W", "ignore",
           "--rootdir", ROOT] + [os.path.join(ROOT, t) for t in KERNEL_TESTS]
    # run from a scratch folder: `python -m pytest` puts its working directory first on sys.path, and
    # a checkout without a dev build must not shadow the installed pyml (tests/conftest.py adds the
    # checkout itself when it holds one)
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    tail = done.stdout[-3000:]
    assert done.returncode == 0, f"kernel tests failed under {isa}:\n{tail}\n{done.stderr[-2000:]}"
    assert " passed" in tail and "failed" not in tail

"""pyml.backends.cuda.matmul.allow_tf32 and pyml.set/get_float32_matmul_precision: PyTorch's names,
defaults and coupling (the flag reaches the CUDA GEMM through _C; no GPU needed to test the switch)."""
import pytest

import pyml


@pytest.fixture(autouse=True)
def restore():
    yield
    pyml.set_float32_matmul_precision("highest")


def test_defaults():
    assert pyml.backends.cuda.matmul.allow_tf32 is False
    assert pyml.get_float32_matmul_precision() == "highest"


def test_allow_tf32_sets_precision():
    pyml.backends.cuda.matmul.allow_tf32 = True
    assert pyml.get_float32_matmul_precision() == "high"
    assert pyml._C._get_matmul_allow_tf32() is True
    pyml.backends.cuda.matmul.allow_tf32 = False
    assert pyml.get_float32_matmul_precision() == "highest"
    assert pyml._C._get_matmul_allow_tf32() is False


@pytest.mark.parametrize("precision,tf32", [("highest", False), ("high", True), ("medium", True)])
def test_precision_sets_allow_tf32(precision, tf32):
    pyml.set_float32_matmul_precision(precision)
    assert pyml.get_float32_matmul_precision() == precision
    assert pyml.backends.cuda.matmul.allow_tf32 is tf32


def test_medium_survives_setting_the_flag_again():
    pyml.set_float32_matmul_precision("medium")
    pyml.backends.cuda.matmul.allow_tf32 = True  # already on: stays 'medium'
    assert pyml.get_float32_matmul_precision() == "medium"


@pytest.mark.parametrize("bad", ["low", "HIGH", None, 1])
def test_bad_precision(bad):
    with pytest.raises(ValueError, match="set_float32_matmul_precision"):
        pyml.set_float32_matmul_precision(bad)
    assert pyml.get_float32_matmul_precision() == "highest"


def test_cpu_matmul_ignores_tf32():
    a = pyml.randn(33, 47)
    b = pyml.randn(47, 29)
    want = (a @ b).numpy()
    pyml.backends.cuda.matmul.allow_tf32 = True
    assert ((a @ b).numpy() == want).all()

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


def test_cudnn_flags_have_torch_defaults_and_keep_what_is_set():
    import torch
    c = pyml.backends.cudnn
    for name in ("enabled", "benchmark", "deterministic"):
        assert getattr(c, name) == getattr(torch.backends.cudnn, name), name
    c.benchmark = True
    try:
        assert c.benchmark is True
    finally:
        c.benchmark = False
    assert c.is_available() is False and c.version() is None  # pyml never calls cuDNN


def test_availability_answers():
    b = pyml.backends
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.mkldnn.is_available() is False and b.openmp.is_available() is True
    assert b.cuda.is_built() is bool(pyml._C.cuda_compiled())
    expected = {"avx512": "AVX512", "avx2": "AVX2", "generic": "DEFAULT"}[pyml._C.cpu_isa()]
    assert b.cpu.get_cpu_capability() == expected


@pytest.mark.parametrize("kind", ["flash", "mem_efficient", "math", "cudnn"])
def test_sdp_switches_record_the_setting(kind):
    cuda = pyml.backends.cuda
    enabled, enable = getattr(cuda, f"{kind}_sdp_enabled"), getattr(cuda, f"enable_{kind}_sdp")
    assert enabled() is True
    enable(False)
    try:
        assert enabled() is False
    finally:
        enable(True)
    assert enabled() is True

"""pyml.compile: a ported script's torch.compile call returns the model itself and results are unchanged."""
import numpy as np
import pytest

import pyml


def test_compile_returns_the_model_and_results_match_eager():
    pyml.manual_seed(0)
    model = pyml.nn.Sequential(pyml.nn.Linear(5, 7), pyml.nn.ReLU(), pyml.nn.Linear(7, 3))
    x = pyml.randn(4, 5)
    compiled = pyml.compile(model, mode="reduce-overhead")
    assert compiled is model
    np.testing.assert_array_equal(compiled(x).detach().numpy(), model(x).detach().numpy())


def test_compile_as_a_decorator_with_and_without_arguments():
    @pyml.compile
    def f(a):
        return a * 2 + 1

    @pyml.compile(fullgraph=True, dynamic=False)
    def g(a):
        return a.exp()

    a = pyml.tensor([0.0, 1.5, -2.0])
    np.testing.assert_array_equal(f(a).numpy(), np.array([1.0, 4.0, -3.0], np.float32))
    np.testing.assert_allclose(g(a).numpy(), np.exp([0.0, 1.5, -2.0]), rtol=1e-6)


def test_compile_checks_its_arguments_like_torch():
    with pytest.raises(ValueError, match="compile: mode must be one of"):
        pyml.compile(lambda x: x, mode="fastest")
    with pytest.raises(RuntimeError, match="either mode or options"):
        pyml.compile(lambda x: x, mode="default", options={"a": 1})
    with pytest.raises(TypeError, match="backend must be a string or a callable"):
        pyml.compile(lambda x: x, backend=3)
    with pytest.raises(RuntimeError, match="model must be a callable"):
        pyml.compile(3)


def test_module_compile_in_place_keeps_the_module_working():
    m = pyml.nn.Linear(3, 2)
    x = pyml.randn(4, 3)
    before = m(x)
    assert m.compile(mode="max-autotune") is None  # torch's Module.compile returns None too
    assert pyml.equal(m(x), before)

"""parameters_to_vector / vector_to_parameters: flatten parameters into one vector and back."""
import pyml
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_device(param, old):
    dev = param.device
    if old is not None and dev != old:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")
    return dev


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened, in order (differentiable)."""
    device = None
    vec = []
    for p in parameters:
        device = _check_device(p, device)
        vec.append(p.reshape(-1))
    return pyml.cat(vec)


def vector_to_parameters(vec, parameters):
    """Point each parameter's data at its slice of vec (shared storage, like torch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected pyml.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec has {vec.numel()} elements, the parameters hold {total}")
    for p in params:
        device = _check_device(p, device)
        n = p.numel()
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n

"""Parameter and Buffer (to be filled by the Module-system work)."""
from .._tensor import Tensor


class Parameter(Tensor):
    pass


class Buffer(Tensor):
    pass

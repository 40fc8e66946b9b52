"""Transform: an invertible map y = t(x) with log|dy/dx|, the base of pyml.distributions.transforms (like
torch.distributions.transforms), plus the structural transforms: the inverse of a transform, composition,
IndependentTransform (more rightmost dims in one event) and ReshapeTransform.

A transform acts on the event_dim rightmost dims of its input (domain.event_dim) and returns
codomain.event_dim rightmost dims; log_abs_det_jacobian(x, y) has one value per event, so its shape is x's
shape less domain.event_dim dims. cache_size=1 remembers the last (x, y) pair: t.inv(t(x)) then returns x
itself, which keeps round trips exact where the inverse is unstable (sigmoid near 0 or 1). t.inv is held by a
weak reference (the inverse holds t strongly), so a transform and its inverse form no reference cycle.
"""
import weakref

from .. import zeros_like
from .._tensor import Size
from . import constraints
from .utils import lazy_property, sum_rightmost

__all__ = ["ComposeTransform", "IndependentTransform", "ReshapeTransform", "Transform", "identity_transform"]


def check_event_rank(op, value, event_dim):
    if value.dim() < event_dim:
        raise ValueError(f"{op}: the input needs at least {event_dim} dimensions (the event), got shape "
                         f"{tuple(value.shape)}")


class Transform:
    """Subclasses define domain, codomain, _call and (if invertible) _inverse and log_abs_det_jacobian;
    bijective ones also sign (+1 increasing, -1 decreasing) when they are elementwise."""
    bijective = False

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got {cache_size!r}")
        self._cache_size = cache_size
        self._inv = None
        if cache_size == 1:
            self._cached_x_y = None, None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_inv"] = None  # a weak reference cannot be pickled; inv is rebuilt on use
        return state

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError(f"{type(self).__name__}: domain and codomain have different event dims "
                         f"({self.domain.event_dim} and {self.codomain.event_dim}): use .domain.event_dim or "
                         ".codomain.event_dim")

    @property
    def inv(self):
        """The inverse transform; t.inv.inv is t, and t.inv is the same object while anyone holds it."""
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):
        raise NotImplementedError(f"{type(self).__name__} does not define sign")

    def with_cache(self, cache_size=1):
        """This transform with the given cache size (itself when it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __call__(self, x):
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y):
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not implement the forward map")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} does not implement the inverse map")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_abs_det_jacobian")

    def forward_shape(self, shape):
        """The output shape for an input of this shape (shape-preserving by default)."""
        return shape

    def inverse_shape(self, shape):
        return shape

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """t.inv: swaps domain/codomain and the two maps, negates the log-det. Holds t strongly."""

    def __init__(self, transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    def __getstate__(self):
        return self.__dict__.copy()  # _inv is the (strong) forward transform here: it must survive pickling

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def with_cache(self, cache_size=1):
        return self.inv.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __call__(self, x):
        return self._inv._inv_call(x)  # shares the forward transform's cache

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"


def _compose_event_dim(parts, start, first, last):
    """The event dim a chain needs at one end: walking the parts from the other end, each part's event
    dim change is applied and the result is never less than what the part itself needs."""
    event_dim = start
    for part in parts:
        event_dim += first(part).event_dim - last(part).event_dim
        event_dim = max(event_dim, first(part).event_dim)
    return event_dim


class ComposeTransform(Transform):
    """parts applied left to right. Its domain/codomain event dims are the largest any part needs, so a
    chain of an elementwise part and a vector part treats whole vectors as events. The parts cache."""

    def __init__(self, parts, cache_size=0):
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = _compose_event_dim(reversed(self.parts), self.parts[-1].codomain.event_dim,
                                       lambda p: p.domain, lambda p: p.codomain)
        return _widen(domain, event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = _compose_event_dim(self.parts, self.parts[0].domain.event_dim,
                                       lambda p: p.codomain, lambda p: p.domain)
        return _widen(codomain, event_dim)

    @lazy_property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @lazy_property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self):
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        """Sum of the parts' terms, each summed over the event dims it sees as batch. The intermediate
        values are recomputed (free when the parts cache)."""
        if not self.parts:
            return zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total, event_dim = 0, self.domain.event_dim
        for part, xi, yi in zip(self.parts, xs[:-1], xs[1:]):
            total = total + sum_rightmost(part.log_abs_det_jacobian(xi, yi), event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        return type(self).__name__ + "(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


def _widen(constraint, event_dim):
    """constraint with its event extended to event_dim rightmost dims."""
    if event_dim > constraint.event_dim:
        return constraints.independent(constraint, event_dim - constraint.event_dim)
    return constraint


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """base_transform with reinterpreted_batch_ndims more rightmost dims in its event: the maps are the
    same, the log-det is summed over those dims."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        check_event_rank("IndependentTransform", x, self.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y):
        check_event_rank("IndependentTransform.inv", y, self.codomain.event_dim)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _reshape_event(op, shape, from_shape, to_shape):
    """shape with its rightmost from_shape replaced by to_shape."""
    shape = tuple(shape)
    if len(shape) < len(from_shape):
        raise ValueError(f"{op}: the shape needs at least {len(from_shape)} dimensions, got {shape}")
    cut = len(shape) - len(from_shape)
    if shape[cut:] != tuple(from_shape):
        raise ValueError(f"{op}: the rightmost sizes must be {tuple(from_shape)}, got {shape}")
    return Size(shape[:cut] + tuple(to_shape))


class ReshapeTransform(Transform):
    """Reshapes the rightmost in_shape dims to out_shape (same number of elements); log-det 0."""
    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape, self.out_shape = Size(tuple(in_shape)), Size(tuple(out_shape))
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError(f"ReshapeTransform: in_shape and out_shape must have the same number of elements, "
                             f"got {tuple(self.in_shape)} and {tuple(self.out_shape)}")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(batch + tuple(self.out_shape))

    def _inverse(self, y):
        batch = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(batch + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(tuple(x.shape[:x.dim() - len(self.in_shape)]))

    def forward_shape(self, shape):
        return _reshape_event("ReshapeTransform.forward_shape", shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return _reshape_event("ReshapeTransform.inverse_shape", shape, self.out_shape, self.in_shape)

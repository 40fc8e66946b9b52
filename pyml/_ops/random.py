"""Random sampling on the engine's Philox4x32-10 generators: Generator and seeding, random creation
(rand, randn, randint, normal, bernoulli, multinomial, randperm, *_like) and the in-place samplers
(uniform_, normal_, bernoulli_, random_, exponential_). A generator's state is (seed, offset); every
call advances the offset past the counters it used, so results depend only on the seed and the call
sequence, never on the thread count. Each CUDA device has its own default generator (pyml.cuda.random);
CUDA tensors are sampled on the device from their device's generator, drawing the numbers the CPU
draws for the same state. pyml.manual_seed seeds the CPU and every CUDA generator.
"""
import builtins
import struct

import numpy as np

from .. import _C
from .. import _dtype as D
from .._device import to_device
from .._tensor import Tensor, wrap, tensor_method, to_np_shape, export, _default_dtype
from .._creation import _like_layout

_U64 = 1 << 64
_INT = (int, np.integer)


def _seed_value(seed, op):
    if isinstance(seed, builtins.bool) or not isinstance(seed, _INT):
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    seed = builtins.int(seed)
    if not -(1 << 63) <= seed < _U64:
        raise ValueError(f"{op}: seed must be within [-0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff], got {seed}")
    return seed % _U64  # negative seeds wrap like PyTorch's


def _cuda_index(dev):
    """The index of a cuda device; 'cuda' alone is the current device (0 when there is no GPU)."""
    if dev.index is not None:
        return dev.index
    return _C.cuda_current_device() if _C.cuda_device_count() > 0 else 0


class Generator:
    """A random generator of one device: a Philox4x32-10 key (the seed) and a counter offset."""

    def __init__(self, device="cpu"):
        dev = to_device(device)
        if dev.type == "cpu":
            self.device, self._impl = dev, _C.Generator()
            return
        idx = _cuda_index(dev)
        self._impl = _C.Generator((1, idx))  # RuntimeError when the device does not exist
        self.device = to_device(f"cuda:{idx}")

    def manual_seed(self, seed):
        self._impl.manual_seed(_seed_value(seed, "manual_seed"))
        return self

    def seed(self):
        return self._impl.seed()

    def initial_seed(self):
        return self._impl.initial_seed()

    def get_state(self):
        """The state as a uint8 tensor of 16 bytes: seed and offset, little-endian uint64 each."""
        from .._creation import tensor
        raw = struct.pack("<QQ", self._impl.initial_seed(), self._impl.offset())
        return tensor(list(raw), dtype=D.uint8)

    def set_state(self, new_state):
        seed, offset = struct.unpack("<QQ", _state_bytes(new_state))
        self._impl.set_state(seed, offset)
        return self

    def __repr__(self):
        return f"<pyml.Generator device='{self.device}' seed={self.initial_seed()}>"


def _state_bytes(s):
    if isinstance(s, Tensor):
        if s.dtype is not D.uint8 or s.device.type != "cpu":
            raise TypeError(f"set_state: expected a cpu uint8 tensor (from get_state), got {s.dtype} on {s.device}")
        s = bytes(s.reshape(-1).tolist())
    if not isinstance(s, (bytes, bytearray)):
        raise TypeError(f"set_state: expected a uint8 tensor or bytes from get_state, got {type(s).__name__}")
    if len(s) != 16:
        raise ValueError(f"set_state: the state must hold 16 bytes (seed and offset), got {len(s)}")
    return builtins.bytes(s)


def _wrap_generator(impl, device):
    g = Generator.__new__(Generator)
    g.device = to_device(device)
    g._impl = impl
    return g


default_generator = _wrap_generator(_C.default_generator(), "cpu")


def _cuda_default(index):
    """The default generator of CUDA device `index`, as a Generator."""
    return _wrap_generator(_C.cuda_default_generator(index), f"cuda:{index}")


def manual_seed(seed):
    """Seed the default generators of the CPU and of every CUDA device; returns the CPU one, like
    torch.manual_seed."""
    s = _seed_value(seed, "manual_seed")
    for i in range(_C.cuda_device_count()):
        _C.cuda_default_generator(i).manual_seed(s)
    return default_generator.manual_seed(s)


def seed():
    """A fresh nondeterministic seed for the CPU generator, also given to every CUDA device."""
    s = default_generator.seed()
    for i in range(_C.cuda_device_count()):
        _C.cuda_default_generator(i).manual_seed(s)
    return s


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _gen(generator, op):
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be a pyml.Generator, got {type(generator).__name__}")
    return generator._impl


# ---------------------------------------------------------------------------- creation
def _size_kw(kw, op):
    """rand(2, 3) or rand(size=(2, 3)): the only keyword the *size forms take besides their own."""
    size = kw.pop("size", None)
    if kw:
        raise TypeError(f"{op}: got an unexpected keyword argument {next(iter(kw))!r}")
    return size


def _shape(size, args, op):
    if size is not None and args:
        raise TypeError(f"{op}: size given both positionally and as size=")
    shape = to_np_shape(args if size is None else (size,), op)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got {tuple(shape)}")
    return shape


def _dtype(dtype, default, op, floating):
    dt = default if dtype is None else D.to_dtype(dtype, op)
    if floating and not dt.is_floating_point:
        raise TypeError(f"{op}: expected a floating point dtype, got {dt}")
    return dt


def _finish(t, device, requires_grad, out, op):
    """Move a freshly sampled tensor to its device (if not there), mark it for autograd or store it
    into out."""
    dev = to_device(device)
    if t.device != dev:
        t = t.to(dev)
    if requires_grad:
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"{op}: only Tensors of floating point dtype can require gradients, got {t.dtype}")
        t.requires_grad = True
    if out is not None:
        from .views import _resize_out
        _resize_out(out, t)
        return out
    return t


def _new(shape, dt, fill, device=None):
    """An empty tensor on `device` filled in place by fill(impl) (on that device)."""
    t = wrap(_C.empty(shape, dt._code, to_device(device)._pair()))
    fill(t._impl)
    return t


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, **kw):
    """Uniform samples on [0, 1)."""
    shape = _shape(_size_kw(kw, "rand"), size, "rand")
    dt = _dtype(dtype, _default_dtype(), "rand", True)
    g = _gen(generator, "rand")
    t = _new(shape, dt, lambda i: _C.uniform_(i, 0.0, 1.0, g), device)
    return _finish(t, device, requires_grad, out, "rand")


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, **kw):
    """Standard normal samples (Box-Muller on Philox uniforms)."""
    shape = _shape(_size_kw(kw, "randn"), size, "randn")
    dt = _dtype(dtype, _default_dtype(), "randn", True)
    g = _gen(generator, "randn")
    t = _new(shape, dt, lambda i: _C.normal_(i, 0.0, 1.0, g), device)
    return _finish(t, device, requires_grad, out, "randn")


def _int_arg(v, name, op):
    if isinstance(v, builtins.bool) or not isinstance(v, _INT):
        raise TypeError(f"{op}: {name} must be an int, got {type(v).__name__}")
    v = builtins.int(v)
    if not -(1 << 63) <= v <= (1 << 63) - 1:
        raise ValueError(f"{op}: {name} must fit in int64, got {v}")
    return v


def _low_high(args, low, high, op):
    """randint's (high) / (low, high) positional forms, with low=/high= keywords."""
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    elif len(args) > 2:
        raise TypeError(f"{op}: expected (high, size) or (low, high, size), got {len(args) + 1} positional arguments")
    if high is None:
        raise TypeError(f"{op}: missing the required argument 'high'")
    return _int_arg(0 if low is None else low, "low", op), _int_arg(high, "high", op)


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, pin_memory=False):
    """Integers uniform on [low, high): randint(high, size) or randint(low, high, size)."""
    args = list(args)
    if size is None:
        if not args:
            raise TypeError("randint: missing the required argument 'size'")
        size = args.pop()
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, got {type(size).__name__}")
    low, high = _low_high(args, low, high, "randint")
    shape = _shape(size, (), "randint")
    dt = _dtype(dtype, D.int64, "randint", False)
    g = _gen(generator, "randint")
    t = _new(shape, dt, lambda i: _C.random_(i, low, high, g), device)
    return _finish(t, device, requires_grad, out, "randint")


def _like_dtype(input, dtype, op, floating):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    return _dtype(dtype, input.dtype, op, floating)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    dt = _like_dtype(input, dtype, "rand_like", True)
    made = rand(input.shape, generator=generator, dtype=dt, device=device or input.device, requires_grad=requires_grad)
    return _like_layout(made, input, memory_format, "rand_like")


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    dt = _like_dtype(input, dtype, "randn_like", True)
    made = randn(input.shape, generator=generator, dtype=dt, device=device or input.device,
                 requires_grad=requires_grad)
    return _like_layout(made, input, memory_format, "randn_like")


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    """randint_like(input, high) or randint_like(input, low, high)."""
    if high is None:
        low, high = 0, low
    dt = _like_dtype(input, dtype, "randint_like", False)
    made = randint(low, high, tuple(input.shape), generator=generator, dtype=dt, device=device or input.device,
                   requires_grad=requires_grad)
    return _like_layout(made, input, memory_format, "randint_like")


def _as_tensor_like(v, other, name, op):
    if isinstance(v, Tensor):
        return v
    if isinstance(v, builtins.bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a Tensor or a number, got {type(v).__name__}")
    return wrap(_C.full([], builtins.float(v), other.dtype._code, other.device._pair()))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """Normal samples: tensor mean and/or std (broadcast), or float mean and std with size=."""
    g = _gen(generator, "normal")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal: size= is only accepted when mean and std are both numbers")
        mean = _as_tensor_like(mean, std, "mean", "normal")
        std = _as_tensor_like(std, mean, "std", "normal")
        t = wrap(_C.normal(mean._impl, std._impl, g))
        return _finish(t, t.device, requires_grad, out, "normal")
    if size is None:
        raise TypeError("normal: size= must be given when mean and std are numbers, got mean "
                        f"{mean!r} and std {std!r}")
    mean = _num(mean, "mean", "normal")
    std = _num(std, "std", "normal")
    shape = _shape(size, (), "normal")
    dt = _dtype(dtype, _default_dtype(), "normal", True)
    t = _new(shape, dt, lambda i: _C.normal_(i, mean, std, g), device)
    return _finish(t, device, requires_grad, out, "normal")


def _num(v, name, op):
    if isinstance(v, builtins.bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__}")
    return builtins.float(v)


def bernoulli(input, p=None, *, generator=None, out=None):
    """Samples 0/1 with probabilities input (or the scalar p), in input's dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: expected a Tensor as input, got {type(input).__name__}")
    g = _gen(generator, "bernoulli")
    if p is None:
        t = wrap(_C.bernoulli(input._impl, g))
        return _finish(t, t.device, False, out, "bernoulli")
    t = wrap(_C.empty(list(input.shape), input.dtype._code, input.device._pair()))
    _C.bernoulli_scalar_(t._impl, _num(p, "p", "bernoulli"), g)
    return _finish(t, t.device, False, out, "bernoulli")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices drawn from rows of non-negative weights (distinct per row without replacement)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: expected a Tensor as input, got {type(input).__name__}")
    n = _int_arg(num_samples, "num_samples", "multinomial")
    r = wrap(_C.multinomial(input._impl, n, builtins.bool(replacement), _gen(generator, "multinomial")))
    return _finish(r, r.device, False, out, "multinomial")


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False):
    """A random permutation of 0..n-1 (int64 unless dtype says otherwise)."""
    n = _int_arg(n, "n", "randperm")
    dt = _dtype(dtype, D.int64, "randperm", False)
    t = wrap(_C.randperm(n, dt._code, _gen(generator, "randperm"), to_device(device)._pair()))
    return _finish(t, device, requires_grad, out, "randperm")


# ---------------------------------------------------------------------------- in-place samplers
def _from_to(op, args, kwargs, defaults):
    """Positional/keyword parsing for methods whose first argument is PyTorch's `from`."""
    names = ("from", "to")
    if len(args) > 2:
        raise TypeError(f"{op}: expected at most 2 positional arguments, got {len(args)}")
    vals = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in vals:
            raise TypeError(f"{op}: unexpected or repeated keyword argument {k!r}")
        vals[k] = v
    return [vals.get(n, d) for n, d in zip(names, defaults)]


@tensor_method()
def uniform_(self, *args, generator=None, **kwargs):
    """Fill with uniform samples on [from, to) (defaults 0 and 1)."""
    lo, hi = _from_to("uniform_", args, kwargs, (0.0, 1.0))
    _C.uniform_(self._impl, _num(lo, "from", "uniform_"), _num(hi, "to", "uniform_"), _gen(generator, "uniform_"))
    return self


@tensor_method()
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    _C.normal_(self._impl, _num(mean, "mean", "normal_"), _num(std, "std", "normal_"), _gen(generator, "normal_"))
    return self


@tensor_method()
def exponential_(self, lambd=1.0, *, generator=None):
    _C.exponential_(self._impl, _num(lambd, "lambd", "exponential_"), _gen(generator, "exponential_"))
    return self


@tensor_method()
def bernoulli_(self, p=0.5, *, generator=None):
    g = _gen(generator, "bernoulli_")
    if isinstance(p, Tensor):
        _C.bernoulli_(self._impl, p._impl, g)
    else:
        _C.bernoulli_scalar_(self._impl, _num(p, "p", "bernoulli_"), g)
    return self


@tensor_method()
def random_(self, *args, generator=None, **kwargs):
    """random_() over the dtype's range, random_(to) over [0, to), random_(from, to) over [from, to)."""
    if len(args) == 1 and not kwargs:
        lo, hi = 0, args[0]
    else:
        lo, hi = _from_to("random_", args, kwargs, (0, None))
    lo = _int_arg(lo, "from", "random_")
    hi = None if hi is None else _int_arg(hi, "to", "random_")
    _C.random_(self._impl, lo, hi, _gen(generator, "random_"))
    return self


Tensor.bernoulli = lambda self, p=None, *, generator=None: bernoulli(self, p, generator=generator)
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: multinomial(
    self, num_samples, replacement, generator=generator)

__all__ = export(globals(), exclude=("uniform_", "normal_", "exponential_", "bernoulli_", "random_")) + [
    "Generator", "default_generator"]

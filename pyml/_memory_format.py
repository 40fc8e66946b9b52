"""torch.memory_format: how a fresh tensor's dims lie in memory. A channels_last (N, C, H, W) tensor keeps its
shape and has strides (H*W*C, 1, W*C, C); elementwise ops, norms, pooling and convolution keep that layout, as
in torch. The engine takes a format as an int code (the order below)."""


class memory_format:
    __slots__ = ("_name", "_code")

    def __init__(self, name, code):
        self._name, self._code = name, code

    def __repr__(self):
        return "pyml." + self._name

    def __reduce__(self):  # pickles as the module-level singleton
        return self._name


contiguous_format = memory_format("contiguous_format", 0)
channels_last = memory_format("channels_last", 1)
channels_last_3d = memory_format("channels_last_3d", 2)
preserve_format = memory_format("preserve_format", 3)
PRESERVE = 3


def code(fmt, op, default=preserve_format, preserve_ok=True):
    """The engine code of fmt (None: default); TypeError for anything but a memory_format."""
    fmt = default if fmt is None else fmt
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}: memory_format must be a pyml.memory_format (pyml.contiguous_format, "
                        f"pyml.channels_last, pyml.channels_last_3d, pyml.preserve_format), got {fmt!r}")
    if fmt._code == PRESERVE and not preserve_ok:
        raise ValueError(f"{op}: preserve_format is not supported here; use contiguous_format, channels_last or "
                         "channels_last_3d")
    return fmt._code


def layout_order(strides):
    """Dims from outermost to innermost in memory: a contiguous tensor of the sizes in this order, permuted
    back, has these strides (up to size-1 dims)."""
    return sorted(range(len(strides)), key=lambda d: -strides[d])


def in_layout(make, shape, strides):
    """make(sizes) -> a contiguous tensor; returned as a view with the given layout (no copy)."""
    order = layout_order(strides)
    if order == list(range(len(shape))):
        return make(tuple(shape))
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return make(tuple(shape[d] for d in order)).permute(*inverse)

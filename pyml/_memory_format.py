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


def plain(fmt, impl):
    """Whether format code fmt asks for an ordinary contiguous result for engine tensor impl: contiguous_format,
    or preserve_format of a contiguous tensor (the fast paths of clone, to and the *_like family)."""
    return fmt == 0 or (fmt == PRESERVE and impl.is_contiguous())

"""repr of tensors in PyTorch's style: tensor([[1., 2.], [3., 4.]], dtype=pyml.float64)."""
import numpy as np

from . import _dtype as D

_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, sci_mode=None, profile=None):
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            _PRINT[k] = v
    _PRINT["sci_mode"] = sci_mode


def _float_formatter(vals):
    p = _PRINT["precision"]
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        return lambda x: _special(x) or f"{x:.{p}f}"
    absv = np.abs(finite)
    nz = absv[absv > 0]
    ints = np.all(finite == np.round(finite))
    sci = _PRINT["sci_mode"]
    if sci is None:
        sci = nz.size > 0 and (nz.max() / nz.min() > 1000.0 or nz.max() > 1e8 or nz.min() < 1e-4)
    if ints and not sci:
        return lambda x: _special(x) or f"{x:.0f}."
    if sci:
        return lambda x: _special(x) or f"{x:.{p}e}"
    return lambda x: _special(x) or f"{x:.{p}f}"


def _complex_formatter(re, im):
    """re+imj with each part formatted like a float tensor of those parts (torch's style)."""
    fr, fi = _float_formatter(re), _float_formatter(np.abs(im))

    def fmt(z):
        z = complex(z)
        sign = "-" if np.signbit(z.imag) and not np.isnan(z.imag) else "+"
        return f"{fr(z.real)}{sign}{fi(abs(z.imag))}j"
    return fmt


def _special(x):
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


def _summarize(a, edge):
    """Indices kept per dim when summarising (None means keep all)."""
    return a.size > _PRINT["threshold"]


def _render(a, fmt, width, indent, summarize, edge):
    if a.ndim == 0:
        return fmt(a.item()).rjust(width)
    n = a.shape[0]
    idx = list(range(n))
    cut = summarize and n > 2 * edge
    if cut:
        idx = list(range(edge)) + [None] + list(range(n - edge, n))
    if a.ndim == 1:
        parts = ["..." if i is None else fmt(a[i].item()).rjust(width) for i in idx]
        per_line = max(1, (_PRINT["linewidth"] - indent) // (width + 2))
        lines = [", ".join(parts[i:i + per_line]) for i in range(0, len(parts), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    rows = ["..." if i is None else _render(a[i], fmt, width, indent + 1, summarize, edge) for i in idx]
    return "[" + sep.join(rows) + "]"


def format_tensor(t):
    prefix = "tensor("
    suffix = []
    dt = t.dtype
    if dt not in (D.float32, D.int64, D.bool_, D.complex64) or (dt is D.float32 and t.numel() == 0 and False):
        suffix.append(f"dtype=pyml.{dt.name}")
    if t.is_cuda:
        suffix.insert(0, f"device='{t.device}'")
    src = t.detach() if hasattr(t, "detach") else t
    a = np.asarray(src.cpu().float() if dt is D.bfloat16 else src.cpu())
    if a.size == 0:
        body = "[]" if a.ndim <= 1 else "[]"
        if a.ndim > 1:
            suffix.insert(0, f"size={tuple(a.shape)}")
    else:
        edge = _PRINT["edgeitems"]
        summarize = a.size > _PRINT["threshold"]
        if dt is D.bool_:
            fmt = lambda x: "True" if x else "False"
        elif dt.is_floating_point:
            shown = a if not summarize else _edges(a, edge)
            fmt = _float_formatter(shown.astype(np.float64).ravel())
        elif dt.is_complex:
            shown = (a if not summarize else _edges(a, edge)).ravel()
            fmt = _complex_formatter(shown.real.astype(np.float64), shown.imag.astype(np.float64))
        else:
            fmt = lambda x: str(int(x))
        shown = a if not summarize else _edges(a, edge)
        width = max(len(fmt(v)) for v in shown.ravel().tolist())
        body = _render(a, fmt, width, len(prefix), summarize, edge)
    if getattr(t, "grad_fn", None) is not None:
        suffix.append(f"grad_fn=<{getattr(t.grad_fn, 'name', type(t.grad_fn).__name__)}>")
    elif getattr(t, "requires_grad", False):
        suffix.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffix) + ")"


def _edges(a, edge):
    for d in range(a.ndim):
        if a.shape[d] > 2 * edge:
            a = np.concatenate([np.take(a, range(edge), axis=d), np.take(a, range(a.shape[d] - edge, a.shape[d]), axis=d)], axis=d)
    return a

"""pyml.compile: torch.compile's signature, so that ported scripts run unchanged. pyml has no graph
compiler: every op already runs as an engine kernel, so compile returns the model or function itself
(eager execution, identical results). Arguments are checked as torch checks them, and decorator use
(@pyml.compile and @pyml.compile(mode=...)) works.
"""
_MODES = (None, "default", "lite", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    """Return `model` unchanged (see the module docstring); with model=None, a decorator."""
    if mode not in _MODES:
        raise ValueError(f"compile: mode must be one of {', '.join(repr(m) for m in _MODES)}, got {mode!r}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be specified, but both can't be specified at "
                           "the same time")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"compile: backend must be a string or a callable, got {type(backend).__name__}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                  options=options, disable=disable)
    if not callable(model):
        raise RuntimeError(f"compile: model must be a callable (a Module or a function), got "
                           f"{type(model).__name__}")
    return model

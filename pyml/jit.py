"""torch.jit's entry points for scripts that call them on the way: pyml has no TorchScript compiler, so
script and trace return what they are given (pyml's ops already run as compiled kernels, see
pyml.compile), the decorators leave functions as they are, and saving or loading a TorchScript archive
raises, pointing at pyml.save for the weights."""

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting", "is_tracing",
           "annotate", "save", "load", "freeze", "optimize_for_inference", "Final"]


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    return func


def trace_module(mod, inputs, *args, **kwargs):
    return mod


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def ignore(drop=False, **kwargs):
    if callable(drop):  # used bare: @jit.ignore
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


class _FinalMeta(type):
    def __getitem__(cls, item):
        return item


class Final(metaclass=_FinalMeta):
    """Final[int] in a class annotation is just int here."""


def save(m, f, _extra_files=None):
    raise NotImplementedError("jit.save: pyml has no TorchScript archives; save the weights with "
                              "pyml.save(model.state_dict(), path) and rebuild the model in Python")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError("jit.load: pyml cannot read TorchScript archives; load weights saved with pyml.save "
                              "(or a safetensors file) through pyml.load")

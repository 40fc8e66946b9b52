"""torch.utils.hooks: RemovableHandle (the one pyml.nn.Module's register_*_hook return, re-exported, not
a copy), unserializable_hook and warn_if_has_hooks. torch's BackwardHook (nn.Module's full backward
hook plumbing) is internal to pyml's Module and not exposed here."""
import warnings

from ..nn.modules.module import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


def unserializable_hook(f):
    """Mark a hook as not meant to be saved, which silences warn_if_has_hooks for it."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor):
    """Warn for each backward hook on `tensor` that saving would drop (unless marked unserializable)."""
    hooks = getattr(tensor, "_backward_hooks", None) or {}
    for hook in hooks.values():
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is expected, you can "
                          "decorate the function with @torch.utils.hooks.unserializable_hook to suppress this "
                          "warning", stacklevel=2)

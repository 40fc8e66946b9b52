"""Automatic mixed precision: autocast (per-op dtype choice) and GradScaler (dynamic loss scaling)."""
from .autocast_mode import autocast, is_autocast_enabled, get_autocast_dtype
from .grad_scaler import GradScaler
from .custom import custom_fwd, custom_bwd

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype", "is_autocast_available",
           "custom_fwd", "custom_bwd"]


def is_autocast_available(device_type):
    return device_type in ("cpu", "cuda")

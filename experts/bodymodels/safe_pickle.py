"""Moved to :mod:`furpe_label.experts.safe_load` (the one safe loader); old imports still work."""

from furpe_label.experts.safe_load import (
    SafeLoadError,
    UnsafePickleError,
    safe_load_any,
    safe_load_npy,
    safe_load_npz,
    safe_pickle_load,
    safe_pickle_loads,
)

__all__ = [
    "SafeLoadError",
    "UnsafePickleError",
    "safe_load_any",
    "safe_load_npy",
    "safe_load_npz",
    "safe_pickle_load",
    "safe_pickle_loads",
]

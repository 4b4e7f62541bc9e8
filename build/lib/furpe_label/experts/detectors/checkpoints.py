"""Load third-party detector checkpoints with ``torch.load(weights_only=True)`` only.

mmpose/mmengine checkpoints are dicts ``{"state_dict": ..., "meta": ...}`` whose ``meta`` often
holds numpy arrays (dataset keypoint sigmas, colours). ``weights_only=True`` refuses numpy's
array-reconstruction globals by default; they are allowed here (and nothing else), after
``torch.serialization.get_unsafe_globals_in_checkpoint`` lists what the file needs. A file that
needs any other global (a pickled model object, e.g. openpifpaf's official ``.pkl`` files, or a
training checkpoint with optimiser/logging objects) is refused with
:class:`UnsafeCheckpointError` naming the globals: extract its state dict once with a trusted
tool and pass that file instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

# numpy globals needed to rebuild plain (non-object) arrays and scalars.
_NUMPY_ARRAY_GLOBALS: dict[str, object] = {
    "numpy.ndarray": np.ndarray,
    "numpy.dtype": np.dtype,
    "numpy.core.multiarray._reconstruct": np.core.multiarray._reconstruct,
    "numpy.core.multiarray.scalar": np.core.multiarray.scalar,
}
_NUMPY_DTYPES = {
    f"numpy.dtypes.{cls.__name__}": cls
    for cls in (type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGUSV")
}


class UnsafeCheckpointError(ValueError):
    """The checkpoint needs globals beyond tensors and plain numpy arrays."""


def load_checkpoint_weights_only(path: str | Path) -> object:
    """``torch.load(path, map_location="cpu", weights_only=True)`` allowing numpy arrays.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file needs other globals (listed in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    allowed = {**_NUMPY_ARRAY_GLOBALS, **_NUMPY_DTYPES}
    needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    refused = sorted(set(needed) - set(allowed))
    if refused:
        raise UnsafeCheckpointError(
            f"{path} is not a plain weights file: loading it would run the pickled globals "
            f"{refused}. Save its state dict (tensors only) with a tool you trust and pass that."
        )
    # numpy reports dtype classes (numpy.dtypes.Float32DType, ...) only while unpickling.
    safe = [allowed[name] for name in needed]
    if safe:
        safe.extend(_NUMPY_DTYPES.values())
    with torch.serialization.safe_globals(safe):
        return torch.load(path, map_location="cpu", weights_only=True)


def state_dict_of(checkpoint: object) -> dict[str, torch.Tensor]:
    """The tensor state dict inside a loaded checkpoint.

    Accepts a bare state dict or a dict with ``state_dict`` (mmengine) or ``model`` holding
    one; a ``module.`` prefix (DataParallel) is removed.

    Raises:
        ValueError: no tensor state dict found.
    """
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            inner = checkpoint.get(key)
            if isinstance(inner, dict):
                checkpoint = inner
                break
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise ValueError("checkpoint holds no state dict")
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError("checkpoint holds no tensors")
    return {k.removeprefix("module."): v for k, v in tensors.items()}

"""Load third-party detector checkpoints: tensors and plain numpy arrays only.

mmpose/mmengine checkpoints are dicts ``{"state_dict": ..., "meta": ...}`` whose ``meta`` often
holds numpy arrays (dataset keypoint sigmas, colours). They are read by the project's one safe
loader, :func:`furpe_label.experts.safe_load.read_checkpoint`, with numpy arrays allowed. A file
that needs any other global (a pickled model object, e.g. openpifpaf's official ``.pkl`` files,
or a training checkpoint with optimiser/logging objects) is refused with
:class:`~furpe_label.experts.safe_load.UnsafeCheckpointError` naming the global: extract its
state dict once with a trusted tool and pass that file instead.
"""

from __future__ import annotations

from pathlib import Path

import torch

from furpe_label.experts.safe_load import UnsafeCheckpointError, read_checkpoint

__all__ = ["UnsafeCheckpointError", "load_checkpoint_weights_only", "state_dict_of"]


def load_checkpoint_weights_only(path: str | Path) -> object:
    """:func:`~furpe_label.experts.safe_load.read_checkpoint` allowing numpy arrays.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file needs other globals (named in the message).
        CheckpointFormatError: not a readable torch file.
    """
    return read_checkpoint(path, numpy_arrays=True)


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

"""Safe loading of every user-supplied data file: pickles, ``.npy``, ``.npz`` and torch files.

One restricted unpickler (:mod:`.unpickler`) reads every pickle stream, whatever the
container, and refuses (one error family, :mod:`.errors`, messages naming the file and what was
refused) both code execution (a global off the allow-list) and objects that would corrupt or
expose memory although built from allowed globals: numpy dtypes with edited states
(:mod:`.numpy_objects`), scipy.sparse matrices with indices outside their shape
(:mod:`.body_model_objects`), torch tensors larger than their stored data
(:mod:`.torch_objects`). Results are plain data (:mod:`.plain`).

Entry points: :func:`safe_pickle_load` / :func:`safe_pickle_loads` (``.pkl``),
:func:`safe_load_npy`, :func:`safe_load_npz` (every member), :class:`NpzMembers` (an ``.npz``
read member by member, each checked against the size limits of :mod:`.limits` before it is
inflated, by :class:`NpzInflationBudget`, which streamed readers of members use too),
:func:`safe_load_any` (by suffix) and
:func:`read_checkpoint` (``torch.save`` files, zip and legacy formats, without ``torch.load``).
"""

from furpe_label.experts.safe_load.errors import (
    CheckpointFormatError,
    SafeLoadError,
    SizeLimitError,
    UnsafeCheckpointError,
    UnsafePickleError,
)
from furpe_label.experts.safe_load.files import (
    safe_load_any,
    safe_load_npy,
    safe_load_npz,
    safe_pickle_load,
    safe_pickle_loads,
)
from furpe_label.experts.safe_load.npz_archive import NpzInflationBudget, NpzMembers
from furpe_label.experts.safe_load.torch_files import read_checkpoint

__all__ = [
    "CheckpointFormatError",
    "NpzInflationBudget",
    "NpzMembers",
    "SafeLoadError",
    "SizeLimitError",
    "UnsafeCheckpointError",
    "UnsafePickleError",
    "read_checkpoint",
    "safe_load_any",
    "safe_load_npy",
    "safe_load_npz",
    "safe_pickle_load",
    "safe_pickle_loads",
]

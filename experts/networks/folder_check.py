"""Check a user's experts folder before any work starts: one row per expected file.

Each row says whether the official file is present, loads safely, and (checkpoints) has
exactly the network's keys and shapes; a damaged checkpoint's row names the broken key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from furpe_label.experts.filecheck import CheckStatus, FileCheck
from furpe_label.experts.networks.checkpoints import CheckpointMismatchError
from furpe_label.experts.networks.frankmocap import load_mean_mano_params
from furpe_label.experts.networks.layout import (
    DECA_MODEL,
    FRANKMOCAP_CHECKPOINT,
    FRANKMOCAP_HAND_INFO,
    FRANKMOCAP_MEAN_PARAMS,
    SPIN_CHECKPOINT,
    SPIN_MEAN_PARAMS,
    ExpertFile,
)
from furpe_label.experts.networks.loading import (
    check_deca_checkpoint,
    check_frankmocap_checkpoint,
    check_spin_checkpoint,
)
from furpe_label.experts.networks.spin import load_smpl_mean_params
from furpe_label.experts.safe_load import SafeLoadError, safe_pickle_load

__all__ = ["check_experts_folder"]

logger = logging.getLogger(__name__)

# the entries FrankMocap's H3DWModel.load_params reads
_HAND_INFO_KEYS = ("right_hand_faces_holistic", "right_hand_faces_local", "right_hand_verts_idx")


def _spin_mean(path: Path) -> str:
    mean = load_smpl_mean_params(path)
    return f"pose {mean.pose.size}, shape {mean.shape.size}, cam {mean.cam.size}"


def _mean_mano(path: Path) -> str:
    return f"mean_pose {load_mean_mano_params(path).size} values"


def _hand_info(path: Path) -> str:
    data = safe_pickle_load(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict, found {type(data).__name__}")
    missing = [key for key in _HAND_INFO_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    return f"{len(data)} entries"


def _tensors(check: Callable[[Path], int]) -> Callable[[Path], str]:
    return lambda path: f"{check(path)} tensors, keys and shapes match the network"


_CHECKS: tuple[tuple[ExpertFile, Callable[[Path], str]], ...] = (
    (SPIN_CHECKPOINT, _tensors(check_spin_checkpoint)),
    (SPIN_MEAN_PARAMS, _spin_mean),
    (DECA_MODEL, _tensors(check_deca_checkpoint)),
    (FRANKMOCAP_CHECKPOINT, _tensors(check_frankmocap_checkpoint)),
    (FRANKMOCAP_MEAN_PARAMS, _mean_mano),
    (FRANKMOCAP_HAND_INFO, _hand_info),
)


def _row(spec: ExpertFile, experts_dir: Path, check: Callable[[Path], str]) -> FileCheck:
    path = spec.path(experts_dir)
    if not path.is_file():
        status = CheckStatus.MISSING if spec.required else CheckStatus.OPTIONAL_MISSING
        return FileCheck(
            spec.component,
            spec.relpath,
            status,
            f"not found: {path}",
            spec.required,
            spec.source,
            None,
        )
    try:
        detail = check(path)
        status = CheckStatus.OK
    except CheckpointMismatchError as exc:
        status, detail = CheckStatus.INVALID, f"{exc.first_problem}; {exc}"
    except (SafeLoadError, ValueError, OSError) as exc:  # refused, unreadable, wrong content
        status, detail = CheckStatus.INVALID, str(exc)
    if status is CheckStatus.INVALID:
        logger.warning("%s: %s", spec.component, detail)
    return FileCheck(spec.component, spec.relpath, status, detail, spec.required, spec.source, path)


def check_experts_folder(experts_dir: Path) -> list[FileCheck]:
    """One :class:`FileCheck` per expected expert file (see :mod:`.layout`), in a fixed order."""
    root = Path(experts_dir)
    return [_row(spec, root, check) for spec, check in _CHECKS]

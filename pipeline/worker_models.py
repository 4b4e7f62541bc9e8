"""Everything a worker loads once per process: detector, experts, body models, fusion, transfer.

:func:`worker_models` caches one :class:`WorkerModels` per (config, resources) in the worker
process, so a shard task after the first pays no loading cost. ``--models synthetic`` builds the
synthetic family once into the cache folder (an atomic rename, safe with several workers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from furpe_label.experts.bodymodels.loading import cache_root, load_body_model
from furpe_label.experts.bodymodels.model_cache import listed_files_problem
from furpe_label.experts.bodymodels.specs import SYNTHETIC_MANIFEST
from furpe_label.experts.fitting.agreement import AgreementFitters
from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.kinematics import SmplxRig
from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.experts.keypoints.fast_openpose import OpenPoseFromSMPLX
from furpe_label.experts.part_experts import ExpertOptions, PartExpert, build_experts
from furpe_label.experts.vocabulary import Part
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.keypoint_stage import KeypointSource
from furpe_label.selection import SelectionConfig

__all__ = ["NETWORK_EXPERTS", "WorkerModels", "models_folder", "worker_models"]

logger = logging.getLogger(__name__)

NETWORK_EXPERTS = ("spin", "deca", "frankmocap")
FITTING_EXPERTS = ("fit-smpl", "fit-flame", "fit-mano")
SYNTHETIC_SEED = 0


def models_folder(config: RunConfig) -> Path:
    """The body-model folder of the run; the synthetic family is written once if asked for."""
    if not config.synthetic_models:
        return Path(config.models)
    from furpe_label.experts.bodymodels.synthetic.family import write_synthetic_family

    target = cache_root() / f"synthetic-models-seed{SYNTHETIC_SEED}"
    problem = listed_files_problem(target, SYNTHETIC_MANIFEST) if target.exists() else None
    if target.exists() and problem is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=target.parent))
    try:
        write_synthetic_family(staging, seed=SYNTHETIC_SEED)
        if problem is not None:  # never used: moved aside, then removed
            logger.warning("model cache %s: %s; rebuilding it", target, problem)
            with contextlib.suppress(OSError):  # another worker moved it first
                os.rename(target, staging.with_name(staging.name + ".discarded"))
        try:
            os.rename(staging, target)
        except OSError:  # another worker won the race: its copy is the same bytes
            logger.debug("synthetic models already written by another process")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging.with_name(staging.name + ".discarded"), ignore_errors=True)
    return target


@dataclass
class WorkerModels:
    """One worker's loaded models (see the module docstring).

    Attributes:
        keypoints: the keypoint source.
        experts: one part expert per labelled part.
        rig: the SMPL-X rig fusion uses (mean hands, kinematic tree).
        openpose_layer: fast OpenPose-137 keypoints of SMPL-X (``flat_hand_mean=True``).
        transfer: SMPL -> SMPL-X shape transfer.
        hand_mean: (2, 45) left / right mean hand, axis-angle radians (step 2's range check).
        fusion: the fusion rules; selection: the thresholds.
        agreement: the fitters run beside the network experts (the agreement scores), or None
            (fitting experts, or ``agreement_fit`` off).
    """

    keypoints: KeypointSource
    experts: tuple[PartExpert, ...]
    rig: SmplxRig
    openpose_layer: OpenPoseFromSMPLX
    transfer: ShapeTransfer
    hand_mean: np.ndarray
    fusion: FusionConfig
    selection: SelectionConfig
    agreement: AgreementFitters | None = None


def _load(config: RunConfig, resources: RunResources) -> WorkerModels:
    models = models_folder(config)
    smplx = load_body_model(models, "smplx", flat_hand_mean=True)
    rig = SmplxRig.from_layer(load_body_model(models, "smplx", flat_hand_mean=False).layer)
    options = ExpertOptions(
        experts_dir=config.experts,
        models_dir=models,
        device=resources.device,
        fp16=resources.fp16,
        batch_size=resources.batch_size,
        fitting_iterations=config.fitting_iterations,
    )
    names = NETWORK_EXPERTS if config.experts else FITTING_EXPERTS
    hand_mean = np.stack(
        [rig.left_hand_mean.reshape(45).numpy(), rig.right_hand_mean.reshape(45).numpy()]
    )
    return WorkerModels(
        keypoints=KeypointSource(config.detector, config.openpose),
        experts=build_experts(names, options),
        rig=rig,
        openpose_layer=OpenPoseFromSMPLX(smplx.layer),
        transfer=ShapeTransfer.from_models(models),
        hand_mean=hand_mean,
        fusion=config.fusion,
        selection=config.selection,
        agreement=(
            AgreementFitters.build(models, tuple(Part), resources.device, config.fitting_iterations)
            if config.experts and config.agreement_fit
            else None
        ),
    )


_CACHE: dict[tuple[str, str], WorkerModels] = {}


def worker_models(config: RunConfig, resources: RunResources) -> WorkerModels:
    """This process's models for the run (loaded on first use)."""
    key = (repr(config), repr(resources))
    if key not in _CACHE:
        _CACHE.clear()  # one run per worker process at a time
        _CACHE[key] = _load(config, resources)
    return _CACHE[key]

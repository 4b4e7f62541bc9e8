"""What ``run.json`` records about the files the run's models come from, without loading them.

The driver hashes the files (SHA-256) instead of building the models: the body-model file the
labels are posed with (SMPL-X neutral), and each part expert's file (a network checkpoint, or
the body model a keypoint fitter fits). The values equal the ``sha256`` the loaded experts
report (:mod:`.worker_models`), which the audit and the report show per part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from furpe_label.experts.bodymodels.loading import locate_model_file
from furpe_label.experts.bodymodels.synthetic_files import synthetic_files
from furpe_label.experts.filecheck import sha256_of_file
from furpe_label.experts.networks.layout import (
    DECA_MODEL,
    FRANKMOCAP_CHECKPOINT,
    SPIN_CHECKPOINT,
    ExpertFile,
    resolve_experts_dir,
)
from furpe_label.experts.vocabulary import Part
from furpe_label.pipeline.config import RunConfig
from furpe_label.pipeline.worker_models import models_folder

__all__ = ["RunFiles", "run_files"]

_HANDS = (Part.LEFT_HAND, Part.RIGHT_HAND)

_NETWORK_FILES: tuple[tuple[str, tuple[Part, ...], ExpertFile], ...] = (
    ("spin", (Part.BODY,), SPIN_CHECKPOINT),
    ("deca", (Part.FACE,), DECA_MODEL),
    ("frankmocap", _HANDS, FRANKMOCAP_CHECKPOINT),
)
"""Network expert (``worker_models.NETWORK_EXPERTS`` order) -> its parts and checkpoint."""

_FITTING_FILES: tuple[tuple[str, tuple[Part, ...], str, str], ...] = (
    ("fit-smpl", (Part.BODY,), "smpl", "neutral"),
    ("fit-flame", (Part.FACE,), "flame", "neutral"),
    ("fit-mano", _HANDS, "mano", "right"),
)
"""Keypoint fitter (``worker_models.FITTING_EXPERTS`` order) -> its parts and body model."""


@dataclass(frozen=True)
class RunFiles:
    """The run's model files, as ``run.json`` records them.

    Attributes:
        experts: part -> expert name.
        checkpoint_sha256: ``"part:expert"`` -> SHA-256 hex of the expert's file.
        model_sha256: body-model file name -> SHA-256 hex (the SMPL-X model of the labels).
        synthetic: a body-model file the run uses carries the synthetic family's marker (or
            the folder holds the family's manifest): the labels are not real.
    """

    experts: dict[str, str]
    checkpoint_sha256: dict[str, str]
    model_sha256: dict[str, str]
    synthetic: bool = False


def _expert_files(config: RunConfig, models: Path) -> list[tuple[str, tuple[Part, ...], Path]]:
    if config.experts:
        root = resolve_experts_dir(config.experts)
        files = [(name, parts, spec.path(root)) for name, parts, spec in _NETWORK_FILES]
        for name, _, path in files:
            if not path.is_file():
                raise FileNotFoundError(f"{name}: expert file not found: {path}")
        return files
    return [
        (name, parts, locate_model_file(models, kind, variant))
        for name, parts, kind, variant in _FITTING_FILES
    ]


def run_files(config: RunConfig) -> RunFiles:
    """Hash the run's model files (writes the synthetic family first if the run uses it).

    Raises:
        FileNotFoundError: a body-model or expert file is missing (named).
    """
    models = models_folder(config)
    smplx = locate_model_file(models, "smplx", "neutral")
    experts: dict[str, str] = {}
    checkpoints: dict[str, str] = {}
    expert_files = _expert_files(config, models)
    for name, parts, path in expert_files:
        sha = sha256_of_file(path)
        for part in parts:
            experts[part.value] = name
            checkpoints[f"{part.value}:{name}"] = sha
    body_models = [smplx] + [path for name, _, path in expert_files if name.startswith("fit-")]
    synthetic = config.synthetic_labels or bool(synthetic_files(body_models))
    return RunFiles(experts, checkpoints, {smplx.name: sha256_of_file(smplx)}, synthetic)

"""Body models: safe loading of the official SMPL / SMPL-X / MANO / FLAME files, folder
checks, and the synthetic family."""

from __future__ import annotations

from furpe_label.experts.bodymodels.loading import BodyModel, load_body_model
from furpe_label.experts.bodymodels.locate import MODELS_ENV, ModelsFolderError, resolve_models_dir

__all__ = ["MODELS_ENV", "BodyModel", "ModelsFolderError", "load_body_model", "resolve_models_dir"]

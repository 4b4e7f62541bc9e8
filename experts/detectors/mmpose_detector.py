"""``mmpose`` backend: top-down COCO-WholeBody-133 models (RTMW, DWPose) on the person boxes.

Optional extra (``pip install furpe-label[mmpose]``); mmpose is imported only when the backend
is created. The model is built from a local config with ``mmpose.apis.init_model(config,
checkpoint=None)`` (nothing is downloaded: the backbone's ``init_cfg`` is cleared by
``init_model``), then the local checkpoint is loaded with the safe loader (tensors and numpy arrays
only, :mod:`.checkpoints`) and copied into the model; a ``dataset_meta`` stored in the checkpoint
replaces the one from the config, as ``init_model`` would do. Inference is
``mmpose.apis.inference_topdown(model, image_bgr, boxes, bbox_format="xywh")`` (mmpose
pipelines expect BGR arrays, as ``mmcv.imread`` returns them); keypoints and scores are
converted to OpenPose-137 by :func:`.wholebody.wholebody133_to_openpose137`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from furpe_label.experts.detectors.base import (
    DetectorBase,
    PersonKeypoints,
    as_boxes,
    box_is_valid,
)
from furpe_label.experts.detectors.checkpoints import load_checkpoint_weights_only, state_dict_of
from furpe_label.experts.detectors.wholebody import wholebody133_to_openpose137
from furpe_label.experts.vocabulary import Reason

LOG = logging.getLogger(__name__)

MMPOSE_EXTRA_HINT = "the mmpose backend needs the optional extra: pip install furpe-label[mmpose]"


def import_mmpose_apis() -> Any:
    """``mmpose.apis``, or ``ImportError`` naming the extra to install."""
    try:
        import mmpose.apis  # optional dependency, imported lazily
    except ImportError as err:
        raise ImportError(MMPOSE_EXTRA_HINT) from err
    return mmpose.apis


class MMPoseDetector(DetectorBase):
    """COCO-WholeBody top-down model (RTMW, DWPose, ...) from a local config + checkpoint.

    Args:
        config: mmpose 1.x model config file (.py).
        checkpoint: local weights (.pth): a state dict or an mmengine checkpoint dict.
        device: torch device string, e.g. "cpu" or "cuda:0".
        min_score: scores at or below this become undetected keypoints.
    """

    name = "mmpose"

    def __init__(
        self,
        config: str | Path,
        checkpoint: str | Path,
        device: str = "cpu",
        min_score: float = 0.0,
    ) -> None:
        apis = import_mmpose_apis()
        import mmpose

        self.config = Path(config)
        self.checkpoint = Path(checkpoint)
        if not self.config.is_file():
            raise FileNotFoundError(f"mmpose config {self.config} does not exist")
        loaded = load_checkpoint_weights_only(self.checkpoint)
        self._apis = apis
        self.model = apis.init_model(str(self.config), checkpoint=None, device=device)
        incompatible = self.model.load_state_dict(state_dict_of(loaded), strict=False)
        if incompatible.missing_keys:
            raise ValueError(
                f"{self.checkpoint} does not fit {self.config.name}: missing "
                f"{len(incompatible.missing_keys)} weights, e.g. {incompatible.missing_keys[:3]}"
            )
        meta = loaded.get("meta", {}) if isinstance(loaded, dict) else {}
        if isinstance(meta, dict) and "dataset_meta" in meta:
            self.model.dataset_meta = meta["dataset_meta"]
        num = int(self.model.dataset_meta.get("num_keypoints", 0))
        if num != 133:
            raise ValueError(f"{self.config.name} predicts {num} keypoints, not COCO-WholeBody 133")
        self.min_score = min_score
        self.version = (
            f"mmpose {mmpose.__version__}; config={self.config.name}; "
            f"checkpoint={self.checkpoint.name}"
        )

    def detect(
        self, image: np.ndarray | None, boxes: np.ndarray, *, image_id: str | None = None
    ) -> list[PersonKeypoints]:
        """One OpenPose-137 row per (P, 4) pixel-xywh box of an (H, W, 3) uint8 RGB image."""
        boxes = as_boxes(boxes)
        if (rows := self.unusable_image_rows(image, boxes)) is not None:
            return rows
        valid = np.array([box_is_valid(b) for b in boxes], bool)
        rows = [self.failed(Reason.INVALID_BOX)] * len(boxes)
        if not valid.any():
            return rows
        bgr = np.ascontiguousarray(image[..., ::-1])  # type: ignore[index]
        try:
            results = self._apis.inference_topdown(
                self.model, bgr, boxes[valid], bbox_format="xywh"
            )
        except Exception:  # third-party inference: report, never raise out of detect()
            LOG.exception("mmpose inference failed on %s", image_id)
            return [
                self.failed(Reason.BACKEND_ERROR) if ok else row
                for ok, row in zip(valid, rows, strict=True)
            ]
        for index, sample in zip(np.flatnonzero(valid), results, strict=True):
            pred = sample.pred_instances
            kps = wholebody133_to_openpose137(
                np.asarray(pred.keypoints)[0], np.asarray(pred.keypoint_scores)[0], self.min_score
            )
            rows[index] = PersonKeypoints(kps, self.name, self.version)
        return rows

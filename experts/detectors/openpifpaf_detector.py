"""``openpifpaf`` backend: the bottom-up wholebody plugin, matched to the person boxes.

Optional extra (``pip install furpe-label[openpifpaf]``; openpifpaf is AGPL-3.0, so it stays an
extra and is imported only when this backend is created). Its wholebody head predicts 133
keypoints in COCO-WholeBody order (``openpifpaf/plugins/wholebody/constants.py``: body 17,
feet 6, face ``f_24..f_91``, left hand ``lh_92..``, right hand ``rh_113..``).

Loading without unpickling code: openpifpaf's official ``.pkl`` checkpoints pickle the whole
network object, which the safe loader refuses. This backend therefore builds
the network from scratch (``openpifpaf.network.Factory(base_name=basenet)`` with the wholebody
head metas, no download) and loads a *state dict* file (tensors only). Convert an
official checkpoint once, with a tool you trust, by saving ``checkpoint["model"].state_dict()``.

The whole image is processed once per ``detect`` call; detected people are matched to the
boxes as in the OpenPose JSON backend (:func:`.boxes.match_people_to_boxes`); unmatched boxes
get ``no_person_in_box``.
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
from furpe_label.experts.detectors.boxes import match_people_to_boxes
from furpe_label.experts.detectors.checkpoints import load_checkpoint_weights_only, state_dict_of
from furpe_label.experts.detectors.wholebody import wholebody133_to_openpose137
from furpe_label.experts.vocabulary import Reason

LOG = logging.getLogger(__name__)

OPENPIFPAF_EXTRA_HINT = (
    "the openpifpaf backend needs the optional extra (AGPL-3.0): "
    "pip install furpe-label[openpifpaf]"
)


def import_openpifpaf() -> Any:
    """The ``openpifpaf`` package, or ``ImportError`` naming the extra to install."""
    try:
        import openpifpaf  # optional dependency, imported lazily
    except ImportError as err:
        raise ImportError(OPENPIFPAF_EXTRA_HINT) from err
    return openpifpaf


class OpenPifPafDetector(DetectorBase):
    """openpifpaf wholebody model from a local state-dict checkpoint.

    Args:
        checkpoint: local state dict (.pt/.pth) of a wholebody network.
        basenet: openpifpaf base network name the checkpoint was trained with, e.g.
            "shufflenetv2k30" or "shufflenetv2k16".
        device: torch device string.
        min_score: scores at or below this become undetected keypoints.
        min_iou, min_containment: matching thresholds (see ``match_people_to_boxes``).
    """

    name = "openpifpaf"

    def __init__(
        self,
        checkpoint: str | Path,
        basenet: str = "shufflenetv2k30",
        device: str = "cpu",
        min_score: float = 0.0,
        min_iou: float = 0.3,
        min_containment: float = 0.6,
    ) -> None:
        openpifpaf = import_openpifpaf()
        import torch
        from openpifpaf.plugins.wholebody.wholebody import Wholebody

        self.checkpoint = Path(checkpoint)
        state = state_dict_of(load_checkpoint_weights_only(self.checkpoint))
        head_metas = Wholebody().head_metas
        # openpifpaf configures its factory and predictor through class attributes.
        openpifpaf.network.Factory.checkpoint = None
        openpifpaf.network.Factory.base_name = basenet
        openpifpaf.Predictor.device = torch.device(device)
        self.predictor = openpifpaf.Predictor(head_metas=head_metas)
        self.predictor.model_cpu.load_state_dict(state, strict=True)
        self.min_score = min_score
        self.min_iou = min_iou
        self.min_containment = min_containment
        self.version = (
            f"openpifpaf {openpifpaf.__version__}; basenet={basenet}; "
            f"checkpoint={self.checkpoint.name}"
        )

    def detect(
        self, image: np.ndarray | None, boxes: np.ndarray, *, image_id: str | None = None
    ) -> list[PersonKeypoints]:
        """One OpenPose-137 row per (P, 4) pixel-xywh box of an (H, W, 3) uint8 RGB image."""
        boxes = as_boxes(boxes)
        if (rows := self.unusable_image_rows(image, boxes)) is not None:
            return rows
        try:
            predictions, _, _ = self.predictor.numpy_image(image)
        except Exception:  # third-party inference: report, never raise out of detect()
            LOG.exception("openpifpaf inference failed on %s", image_id)
            return [self.failed(Reason.BACKEND_ERROR) for _ in boxes]
        people = [
            wholebody133_to_openpose137(ann.data[:, :2], ann.data[:, 2], self.min_score)
            for ann in predictions
        ]
        valid = np.array([box_is_valid(b) for b in boxes], bool)
        matched = iter(
            match_people_to_boxes(
                people, boxes[valid], min_iou=self.min_iou, min_containment=self.min_containment
            )
        )
        rows = []
        for ok in valid:
            index = next(matched) if ok else None
            if not ok:
                rows.append(self.failed(Reason.INVALID_BOX))
            elif index is None:
                rows.append(self.failed(Reason.NO_PERSON))
            else:
                rows.append(PersonKeypoints(people[index], self.name, self.version))
        return rows

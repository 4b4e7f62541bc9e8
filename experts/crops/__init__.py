"""Part crops: each expert's crop rule (the realised crop region and its affine), the part boxes
the rules start from (``boxes``; ExPose's alternative in ``expose_boxes``), crop quality, and the
official warps."""

from __future__ import annotations

from furpe_label.experts.crops.quality import CropQuality, assess_crops
from furpe_label.experts.crops.rules import (
    CropPlan,
    CropRule,
    DecaFaceCrop,
    FrankMocapHandCrop,
    SpinBodyCrop,
)
from furpe_label.experts.crops.warps import (
    NETWORK_INPUT_SIZE,
    deca_input,
    deca_inputs,
    frankmocap_input,
    spin_input,
)

__all__ = [
    "NETWORK_INPUT_SIZE",
    "CropPlan",
    "CropQuality",
    "CropRule",
    "DecaFaceCrop",
    "FrankMocapHandCrop",
    "SpinBodyCrop",
    "assess_crops",
    "deca_input",
    "deca_inputs",
    "frankmocap_input",
    "spin_input",
]

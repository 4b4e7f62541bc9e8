"""Keypoint-fitting part experts: SMPLify-style batched fits of SMPL, MANO and FLAME.

``SmplBodyFitter``, ``ManoHandFitter`` and ``FlameFaceFitter`` fit a part model to its
keypoints in the part's normalised crop frame and return the network experts' parameter
layout (``experts.records``) with a weak-perspective camera and a per-instance
loss. Used as the experts when no network checkpoints are given (``part_expert``: each fitter
seen through the part-expert protocol), and to refine a network expert's output toward the
keypoints (``init=``).
"""

from furpe_label.experts.fitting.body import SmplBodyFitter
from furpe_label.experts.fitting.face import FlameFaceFitter
from furpe_label.experts.fitting.hand import ManoHandFitter
from furpe_label.experts.fitting.outputs import FitResult
from furpe_label.experts.fitting.part_expert import FittingPartExpert, build_fitting_experts
from furpe_label.experts.fitting.solver import lbfgs_batched, lbfgs_per_sample

__all__ = [
    "FitResult",
    "FittingPartExpert",
    "FlameFaceFitter",
    "ManoHandFitter",
    "SmplBodyFitter",
    "build_fitting_experts",
    "lbfgs_batched",
    "lbfgs_per_sample",
]

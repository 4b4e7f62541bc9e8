"""furpe_label.selection: FuRPE's three-step pseudo-label selection.

Each step is a scorer (scores always stored, :mod:`.columns`, as :class:`Field` s of the one
column vocabulary, :mod:`.fields`) and a keep rule (:mod:`.decisions`): 1. keypoint confidence
(:mod:`.step1_keypoints`), 2. expert validity (:mod:`.step2_validity`), 3. reprojection
(:mod:`.step3_reprojection`). Thresholds: :class:`SelectionConfig`, each field naming its step.
"""

from furpe_label.selection.columns import (
    DECISION_COLUMNS,
    METRIC_COLUMNS,
    STEPS,
    SelectionMetrics,
)
from furpe_label.selection.config import WHAT_IF_KEYS, SelectionConfig
from furpe_label.selection.decisions import (
    STAGE_LABELS,
    Outcome,
    SelectionDecisions,
    combine,
    decide,
    what_if,
)
from furpe_label.selection.fields import Field
from furpe_label.selection.step1_keypoints import confident_mask, keep_keypoints, score_keypoints
from furpe_label.selection.step2_validity import part_status, score_validity
from furpe_label.selection.step3_reprojection import (
    BodyCropFrame,
    overall_reprojection,
    reprojection_status,
    score_reprojection,
)

__all__ = [
    "DECISION_COLUMNS",
    "METRIC_COLUMNS",
    "STAGE_LABELS",
    "STEPS",
    "WHAT_IF_KEYS",
    "BodyCropFrame",
    "Field",
    "Outcome",
    "SelectionConfig",
    "SelectionDecisions",
    "SelectionMetrics",
    "combine",
    "confident_mask",
    "decide",
    "keep_keypoints",
    "overall_reprojection",
    "part_status",
    "reprojection_status",
    "score_keypoints",
    "score_reprojection",
    "score_validity",
    "what_if",
]

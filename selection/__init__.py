"""furpe_label.selection: FuRPE's three-step pseudo-label selection, and the signal rules
beyond it.

Each step is a scorer (scores always stored, :mod:`.columns`, as :class:`Field` s of the one
column vocabulary, :mod:`.fields`) and a keep rule (:mod:`.decisions`): 1. keypoint confidence
(:mod:`.step1_keypoints`), 2. expert validity (:mod:`.step2_validity`), 3. reprojection
(:mod:`.step3_reprojection`); then the signal rules (scores :mod:`.signal_scores`, registry and
decision :mod:`.signal_rules`). Thresholds: :class:`SelectionConfig`, each field naming its step
(``SelectionConfig.furpe()``: the signal rules off), read from and written to a selection file
(:mod:`.selection_file`).
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
from furpe_label.selection.selection_file import read_selection_file, write_selection_file
from furpe_label.selection.signal_rules import SIGNAL_RULES, SignalRule, signal_status
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
    "SIGNAL_RULES",
    "STAGE_LABELS",
    "STEPS",
    "WHAT_IF_KEYS",
    "BodyCropFrame",
    "Field",
    "Outcome",
    "SelectionConfig",
    "SelectionDecisions",
    "SelectionMetrics",
    "SignalRule",
    "combine",
    "confident_mask",
    "decide",
    "keep_keypoints",
    "overall_reprojection",
    "part_status",
    "read_selection_file",
    "reprojection_status",
    "score_keypoints",
    "score_reprojection",
    "score_validity",
    "signal_status",
    "what_if",
    "write_selection_file",
]

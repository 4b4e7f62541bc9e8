"""Decisions from stored scores: every step's keep rule, the what-if, and the combined outcome.

``decide(metrics, config)`` applies the keep rules of all three steps, the signal rules beyond
them (:mod:`furpe_label.selection.signal_rules`) and the temporal rule (:mod:`.temporal`) to
stored scores only;
a fresh run and a what-if both go through it, so ``what_if(metrics_scored_with_A, B)`` equals
the decisions of a run scored and decided with ``B`` whenever A and B share their scoring
parameters (the confidence thresholds; ``what_if`` refuses otherwise) — for every row whose
scores exist. A row whose later step was never scored (the original run dropped it earlier and
skipped that step) gets ``Reason.NOT_SCORED`` where the new thresholds would reach that step.

``combine`` turns decisions (plus what happened before step 1 and at fusion) into the audit's
per-row outcome: the first stage that drops the row, FuRPE's step number where one of its three
steps dropped it, its reason, and ``part_valid``. The signal rules come last (stage
``signals``): they only drop or suppress what FuRPE's three steps kept, so with every rule off
(``SelectionConfig.furpe()``) the outcome is FuRPE's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection.columns import SelectionMetrics, as_reasons
from furpe_label.selection.config import SelectionConfig
from furpe_label.selection.signal_rules import signal_status
from furpe_label.selection.step1_keypoints import keep_keypoints
from furpe_label.selection.step2_validity import part_status
from furpe_label.selection.step3_reprojection import overall_reprojection, reprojection_status
from furpe_label.selection.temporal import temporal_status

__all__ = ["STAGE_LABELS", "Outcome", "SelectionDecisions", "combine", "decide", "what_if"]

STAGE_LABELS: tuple[str, ...] = tuple(stage.label for stage in Stage)
"""The audit's ``drop_stage`` values in :class:`Stage` order (index = Stage value)."""

_BEFORE_STEP1: dict[Reason, Stage] = {
    **{
        reason: Stage.INPUT
        for reason in (
            Reason.IMAGE_MISSING,
            Reason.IMAGE_UNREADABLE,
            Reason.IMAGE_TOO_SMALL,
            Reason.IMAGE_TOO_LARGE,
            Reason.NOT_A_REGULAR_FILE,
            Reason.FRAME_UNREADABLE,
            Reason.INVALID_BOX,
            Reason.OUTSIDE_ROOT,
        )
    },
    **{
        reason: Stage.KEYPOINTS
        for reason in (
            Reason.NO_PERSON,
            Reason.IMAGE_ID_MISSING,
            Reason.KEYPOINTS_FILE_MISSING,
            Reason.KEYPOINTS_FILE_INVALID,
            Reason.BACKEND_ERROR,
            Reason.DUPLICATE_PERSON,
            Reason.PERSON_CUT_BY_BOX,
        )
    },
}
"""Reasons a row may carry into the selection from before step 1, with their stage."""


@dataclass(frozen=True)
class SelectionDecisions:
    """The keep decisions of N rows under one config.

    Attributes:
        keep_step1: (N,) bool, enough confident keypoints.
        part_status: (N, 4) :class:`Reason` per :class:`Part` (step 2), ``ok`` = usable.
        step3_status: (N,) :class:`Reason`: ``ok``, ``reprojection_error``,
            ``reprojection_unverifiable`` or ``not_scored``.
        reprojection: the overall step 3 values (float64 (N,) each) over the parts valid
            under this config (``reproj_mse_px``, ``reproj_mse_norm``, ...).
        temporal_status: (N,) :class:`Reason`: ``ok`` or ``temporal_spike`` (the temporal
            rule beyond FuRPE's steps, :mod:`~furpe_label.selection.temporal`).
        signal_status: (N, 4) :class:`Reason` of the signal rules per :class:`Part` (body:
            the sample), ``ok`` where none fires; None = no signal rule (all ``ok``).
    """

    keep_step1: np.ndarray
    part_status: np.ndarray
    step3_status: np.ndarray
    reprojection: dict[str, np.ndarray]
    temporal_status: np.ndarray
    signal_status: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keep_step1)

    def same_decisions(self, other: SelectionDecisions) -> bool:
        """True when every decision (not the informative values) is identical."""
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)
            if f.name not in ("reprojection", "signal_status")
        ) and np.array_equal(self.signals(), other.signals())

    def signals(self) -> np.ndarray:
        """(N, 4) signal statuses (all ``ok`` where there are none)."""
        if self.signal_status is not None:
            return self.signal_status
        return np.full((len(self), len(Part)), Reason.OK, dtype=object)


@dataclass(frozen=True)
class Outcome:
    """Per-row result of the selection.

    Attributes:
        drop_stage: (N,) int8 :class:`Stage` value where the row was dropped (0 = kept).
        drop_step: (N,) int8 FuRPE's selection step that dropped the row: 1 keypoint
            confidence, 2 expert validity (the body), 3 reprojection; 0 for rows kept or
            dropped outside those steps (input, detection, fusion).
        drop_reason: (N,) :class:`Reason`, ``ok`` when kept.
        part_valid: (N, 4) bool per :class:`Part`: the label of that part is usable (all
            False for dropped rows).
    """

    drop_stage: np.ndarray
    drop_step: np.ndarray
    drop_reason: np.ndarray
    part_valid: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        """(N,) bool."""
        return self.drop_stage == Stage.KEPT

    def audit_columns(self) -> dict[str, list]:
        """The audit's decision columns: ``drop_stage`` (stage names, ``kept`` when kept),
        ``drop_step`` (1, 2, 3 or None outside FuRPE's steps and for kept rows) and
        ``drop_reason`` (reason strings, ``ok`` when kept); N values each."""
        return {
            "drop_stage": [STAGE_LABELS[s] for s in self.drop_stage],
            "drop_step": [int(s) if s else None for s in self.drop_step],
            "drop_reason": [str(r) for r in self.drop_reason],
        }


def decide(metrics: SelectionMetrics | Mapping[str, np.ndarray], config: SelectionConfig):
    """Apply every keep rule of ``config`` to stored scores (no model run).

    Args:
        metrics: all :data:`~furpe_label.selection.columns.METRIC_COLUMNS`.
        config: the thresholds.

    Returns:
        :class:`SelectionDecisions`.
    """
    columns = metrics.columns if isinstance(metrics, SelectionMetrics) else metrics
    keep_step1 = keep_keypoints(columns["n_confident_kp"], config)
    status = part_status(columns, config)
    overall = overall_reprojection(columns, status == Reason.OK)
    step3 = reprojection_status(overall[f"reproj_mse_{config.mse_frame}"], config)
    step3[~np.asarray(columns["step3_scored"], dtype=bool)] = Reason.NOT_SCORED
    temporal = temporal_status(columns["temporal_accel_rad"], config.max_temporal_accel)
    signals = signal_status(columns, config, len(keep_step1))
    return SelectionDecisions(keep_step1, status, step3, overall, temporal, signals)


def what_if(metrics: SelectionMetrics, config: SelectionConfig) -> SelectionDecisions:
    """Re-decide stored scores under new thresholds, without running any model.

    Raises:
        ValueError: when ``config``'s scoring parameters (confidence thresholds) differ from
            those the metrics were scored with: re-score step 1 to 3 from the stored
            keypoints and projections first.
    """
    wanted = config.scoring_parameters()
    if metrics.scoring != wanted:
        changed = sorted(k for k in wanted if metrics.scoring.get(k) != wanted[k])
        raise ValueError(
            f"what-if cannot change scoring parameters {changed} (scored with "
            f"{metrics.scoring}); re-score with the new thresholds instead"
        )
    return decide(metrics, config)


def combine(
    decisions: SelectionDecisions,
    input_reasons: np.ndarray | None = None,
) -> Outcome:
    """The per-row outcome: the first stage that drops the row, and ``part_valid``.

    Stages in order: input / keypoint detection (``input_reasons``), step 1, step 2 (the
    body's status drops the sample), step 3, the signal rules (the body's signal status drops
    the sample, a part's suppresses it), the temporal rule. ``drop_step`` is set by FuRPE's
    three steps only.

    Args:
        decisions: from :func:`decide` / :func:`what_if`.
        input_reasons: optional (N,) :class:`Reason` from before step 1 (``ok`` when the row
            reached step 1): an input reason (stage INPUT) or a detection reason (KEYPOINTS).
    """
    n = len(decisions)
    drop_stage = np.zeros(n, dtype=np.int8)
    drop_step = np.zeros(n, dtype=np.int8)
    drop_reason = np.full(n, Reason.OK, dtype=object)

    def drop(mask: np.ndarray, stage: Stage | np.ndarray, reasons: object, step: int = 0) -> None:
        new = mask & (drop_stage == Stage.KEPT)
        drop_stage[new] = stage if isinstance(stage, Stage) else stage[new]
        drop_step[new] = step
        drop_reason[new] = reasons[new] if isinstance(reasons, np.ndarray) else reasons

    if input_reasons is not None:
        reasons = as_reasons(input_reasons, "input_reasons").reshape(n)
        unknown = {r for r in reasons if r != Reason.OK and r not in _BEFORE_STEP1}
        if unknown:
            raise ValueError(f"input_reasons holds reasons of later stages: {sorted(unknown)}")
        stages = np.array([_BEFORE_STEP1.get(r, Stage.KEPT) for r in reasons], dtype=np.int8)
        drop(reasons != Reason.OK, stages, reasons)
    drop(~decisions.keep_step1, Stage.KEYPOINTS, Reason.FEW_CONFIDENT_KEYPOINTS, step=1)
    body = decisions.part_status[:, Part.BODY.column]
    drop(body != Reason.OK, Stage.EXPERTS, body, step=2)
    drop(decisions.step3_status != Reason.OK, Stage.REPROJECTION, decisions.step3_status, step=3)
    signals = decisions.signals()
    body_signal = signals[:, Part.BODY.column]
    drop(body_signal != Reason.OK, Stage.SIGNALS, body_signal)
    drop(decisions.temporal_status != Reason.OK, Stage.TEMPORAL, decisions.temporal_status)
    part_valid = (decisions.part_status == Reason.OK) & (signals == Reason.OK)
    part_valid &= (drop_stage == Stage.KEPT)[:, None]
    return Outcome(drop_stage, drop_step, drop_reason, part_valid)

"""The signal rules beyond FuRPE: each flags a constructed failure and not a clean row, acts
after FuRPE's step 3 (drop or suppress), and all off reproduces FuRPE's decisions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import METRIC_COLUMNS, WHAT_IF_KEYS, SelectionConfig, combine, decide
from furpe_label.selection.config import signal_fields, step_of
from furpe_label.selection.signal_rules import SIGNAL_RULES, rule_columns, signal_status
from furpe_label.storage.schema import AUDIT_FIELDS

THRESHOLD = 1.0


def _rule_config(field: str, threshold: float | None = THRESHOLD) -> SelectionConfig:
    """FuRPE's steps plus the one rule ``field``."""
    return SelectionConfig.furpe(**{field: threshold})


def _scores(rule, clean: float, failed: float) -> dict[str, np.ndarray]:
    """Three rows: clean, failed, NaN (not computed) in every column of ``rule``."""
    values = np.array([clean, failed, np.nan], np.float32)
    return {name: values for name in set(rule.columns().values())}


@pytest.mark.parametrize("rule", SIGNAL_RULES, ids=lambda rule: rule.field)
def test_each_rule_flags_a_constructed_failure_and_not_a_clean_one(rule):
    above = rule.direction == "above"
    clean, failed = (0.5, 1.5) if above else (1.5, 0.5)
    status = signal_status(_scores(rule, clean, failed), _rule_config(rule.field), 3)
    flagged = {Part.BODY} if rule.effect == "drop" else set(rule.parts)
    for part in Part:
        expected = rule.reason if part in flagged else Reason.OK
        assert status[1, part.column] == expected, (rule.field, part)
    assert (status[[0, 2]] == Reason.OK).all()  # the clean row and the NaN row
    boundary = signal_status(_scores(rule, THRESHOLD, THRESHOLD), _rule_config(rule.field), 3)
    assert (boundary == Reason.OK).all()  # strictly beyond the threshold
    off = signal_status(_scores(rule, clean, failed), _rule_config(rule.field, None), 3)
    assert (off == Reason.OK).all()


def test_the_first_rule_that_fires_names_the_reason():
    columns = {
        "hands_swap_ratio": np.array([0.1], np.float32),
        "crop_inside_fraction_left_hand": np.array([0.0], np.float32),
        "betas_norm": np.array([9.0], np.float32),
        "crop_outside_fraction_body": np.array([0.9], np.float32),
    }
    config = SelectionConfig(max_crop_outside_fraction=0.5)
    status = signal_status(columns, config, 1)
    assert status[0, Part.LEFT_HAND.column] == Reason.HANDS_SWAPPED  # before the crop rule
    assert status[0, Part.RIGHT_HAND.column] == Reason.HANDS_SWAPPED
    assert status[0, Part.BODY.column] == Reason.IMPLAUSIBLE_SHAPE  # before the crop rule
    assert status[0, Part.FACE.column] == Reason.OK


def _metrics(n: int, **signals: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of ``n`` rows that pass FuRPE's three steps with every part, plus ``signals``."""
    columns: dict[str, np.ndarray] = {}
    for name, spec in METRIC_COLUMNS.items():
        if spec.holds_reasons:
            columns[name] = np.full(n, Reason.OK, dtype=object)
        elif spec.dtype == "bool":
            columns[name] = np.zeros(n, bool)
        elif spec.dtype.startswith("int"):
            columns[name] = np.full(n, 20, spec.dtype)
        else:
            columns[name] = np.full(n, np.nan, np.float32)
    columns["step2_scored"] = columns["step3_scored"] = np.ones(n, bool)
    columns["betas_max_abs"] = columns["rotation_error"] = np.zeros(n, np.float32)
    for hand in ("left_hand", "right_hand"):
        columns[f"hand_max_abs_{hand}"] = np.ones(n, np.float32)
    for part in Part:
        for frame in ("px", "norm"):
            for stat in ("mse", "mean"):
                columns[f"reproj_{stat}_{frame}_{part.value}"] = np.full(n, 0.01, np.float32)
    columns.update(signals)
    return columns


def test_rules_act_after_step_3_dropping_or_suppressing():
    twist = np.array([0.1, 2.0, 0.1, 0.1], np.float32)
    limbs = np.array([1.0, 1.0, 0.05, 1.0], np.float32)  # below the default ratio
    crop_body = np.array([0.0, 0.0, 0.0, 0.9], np.float32)
    columns = _metrics(
        4,
        wrist_twist_rad_right_hand=twist,
        limbs_swap_ratio=limbs,
        crop_outside_fraction_body=crop_body,
    )
    columns["step3_scored"] = np.array([True, True, True, False])  # row 3: step 3 decides
    config = SelectionConfig(max_crop_outside_fraction=0.5)
    outcome = combine(decide(columns, config))
    assert outcome.drop_stage.tolist() == [
        Stage.KEPT,
        Stage.KEPT,
        Stage.SIGNALS,
        Stage.REPROJECTION,
    ]
    assert outcome.drop_reason[2] == Reason.LIMBS_SWAPPED and outcome.drop_step[2] == 0
    assert outcome.drop_reason[3] == Reason.NOT_SCORED  # FuRPE's step 3 comes first
    assert outcome.part_valid[0].all()
    assert outcome.part_valid[1].tolist() == [True, True, True, False]  # the twisted hand
    furpe = combine(decide(columns, SelectionConfig.furpe()))
    assert furpe.drop_stage.tolist() == [Stage.KEPT] * 3 + [Stage.REPROJECTION]
    assert furpe.part_valid[:3].all()


def test_furpe_preset_turns_every_rule_off_and_reproduces_furpe():
    config = SelectionConfig.furpe()
    assert all(getattr(config, name) is None for name in signal_fields())
    assert config.max_temporal_accel is None  # the temporal rule is beyond FuRPE too
    for name, field in WHAT_IF_KEYS.items():  # FuRPE's own thresholds keep their defaults
        if not name.startswith(("signals.", "temporal.")):
            assert getattr(config, field) == getattr(SelectionConfig(), field)
    rng = np.random.default_rng(0)
    extreme = {name: rng.uniform(0, 10, 50).astype(np.float32) for name in METRIC_COLUMNS}
    signals = {n: v for n, v in extreme.items() if METRIC_COLUMNS[n].group == "signals"}
    decisions = decide(_metrics(50, **signals), config)
    assert (decisions.signals() == Reason.OK).all()
    plain = dataclasses.replace(decisions, signal_status=None)
    assert decisions.same_decisions(plain)
    with_rules = decide(_metrics(50, **signals), SelectionConfig())
    assert not with_rules.same_decisions(decisions)


def test_registry_names_config_fields_score_columns_and_audit_columns():
    audit = {field.name: field for field in AUDIT_FIELDS}
    registry = rule_columns()
    assert set(registry) == set(signal_fields())
    for rule in SIGNAL_RULES:
        assert step_of(rule.field) == "signals"
        assert f"signals.{rule.field}" in WHAT_IF_KEYS
        for column in rule.columns().values():
            assert METRIC_COLUMNS[column].group == "signals" and column in audit
    for part in Part:
        assert audit[f"signal_status_{part.value}"].holds_reasons


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), "1", True])
def test_a_bad_threshold_is_refused_with_a_sentence(value):
    with pytest.raises(ValueError, match="max_betas_norm must be a finite number >= 0, or null"):
        SelectionConfig(max_betas_norm=value)

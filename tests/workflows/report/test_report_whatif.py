"""The report page's what-if (whatif.js, run with node) decides every row exactly as
``furpe-label audit --what-if`` (workflows.audit.recompute) does, boundary values included."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.selection import STAGE_LABELS, SelectionConfig, combine, what_if
from furpe_label.workflows.audit import recompute, stored_input_reasons, stored_metrics
from furpe_label.workflows.report.column_pack import ColumnPack, unpack_column
from furpe_label.workflows.report.payload import REASONS, row_columns
from tests.support.report_support import NODE, node_decisions, random_audit

if NODE is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the JavaScript keep rules: node (Node.js) is not installed")
pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")

BASE = SelectionConfig()


def _boundary_configs(table) -> list[SelectionConfig]:
    """Limits equal to the scores of rows that reach the rule (ties: ``>`` vs ``>=``), doubles
    next to such a float32 score (numpy compares in float32: a tie again), and step 3 limits
    equal to rows' overall values under the config."""
    metrics = stored_metrics(table, BASE)
    columns = metrics.columns
    reach = columns["step2_scored"] & (columns["n_confident_kp"] >= BASE.min_count)
    clean = {
        part: reach
        & (columns[f"expert_reason_{part}"] == Reason.OK)
        & ~columns[f"non_finite_{part}"]
        for part in ("body", "left_hand", "right_hand")
    }
    clean["body"] &= columns["rotation_error"] <= BASE.rotation_tolerance

    def score(name: str, part: str, rank: int) -> float:
        values = np.sort(columns[name][clean[part]])
        return float(values[rank * len(values) // 4])

    def just(value: float, direction: float) -> float:
        return float(np.nextafter(np.float64(value), direction))

    configs = []
    for rank in (1, 2, 3):
        hand = score("hand_max_abs_left_hand", "left_hand", rank)
        configs += [
            dataclasses.replace(
                BASE,
                betas_max_abs=score("betas_max_abs", "body", rank),
                hand_max_abs=hand,
                hand_min_keypoints=5 * rank,
            ),
            dataclasses.replace(
                BASE,
                betas_max_abs=just(score("betas_max_abs", "body", rank), -np.inf),
                hand_max_abs=just(hand, np.inf),
                min_count=20 * rank,
            ),
        ]
    accel = np.sort(columns["temporal_accel_rad"][np.isfinite(columns["temporal_accel_rad"])])
    for rank in (1, 2):
        limit = float(accel[rank * len(accel) // 3])
        configs += [
            dataclasses.replace(BASE, max_temporal_accel=limit),
            dataclasses.replace(BASE, max_temporal_accel=just(limit, -np.inf)),
        ]
    rotation = np.sort(columns["rotation_error"][clean["body"]])[-1]
    configs += [
        dataclasses.replace(BASE, rotation_tolerance=float(rotation)),
        dataclasses.replace(BASE, rotation_tolerance=just(rotation, -np.inf)),
    ]
    for frame, quantiles in (("norm", (0.3, 0.5, 0.7)), ("px", (0.5,))):
        for q in quantiles:
            config = dataclasses.replace(BASE, mse_frame=frame, hand_min_keypoints=10)
            overall = what_if(metrics, config).reprojection[f"reproj_mse_{frame}"]
            finite = np.sort(overall[np.isfinite(overall) & reach])
            configs.append(dataclasses.replace(config, max_mse=float(finite[int(q * len(finite))])))
    return configs


def test_browser_decisions_equal_recompute(tmp_path):
    table = random_audit(3000, seed=3)
    rows = row_columns(table, BASE)
    configs = [
        BASE,
        dataclasses.replace(
            BASE,
            min_count=60,
            hand_max_abs=1.5,
            betas_max_abs=1.5,
            hand_min_keypoints=15,
            max_mse=0.01,
        ),
        dataclasses.replace(
            BASE,
            min_count=0,
            hand_max_abs=6.0,
            betas_max_abs=10.0,
            hand_min_keypoints=0,
            max_mse=5.0,
            rotation_tolerance=0.05,
        ),
        dataclasses.replace(BASE, mse_frame="px", max_mse=400.0),
        *_boundary_configs(table),
    ]
    decided = node_decisions(rows, list(REASONS), [c.to_dict() for c in configs], tmp_path)
    metrics = stored_metrics(table, BASE)
    kept_counts, drop_reasons = set(), set()
    for config, browser in zip(configs, decided, strict=True):
        expected = recompute(table, BASE, config)
        assert [STAGE_LABELS[s] for s in browser["stage"]] == (
            expected["drop_stage"].astype(str).tolist()
        ), config
        assert [REASONS[r] for r in browser["reason"]] == expected["drop_reason"].tolist()
        decisions = what_if(metrics, config)
        part_valid = combine(decisions, stored_input_reasons(table)).part_valid
        bits = (np.asarray(browser["part_valid"])[:, None] >> np.arange(4)) & 1
        np.testing.assert_array_equal(bits.astype(bool), part_valid)
        status = np.asarray(browser["status"]).reshape(-1, 4)
        reached = status[:, 0] >= 0  # rows the browser took to step 2
        assert reached.sum() > len(table) / 3
        expected_status = [
            [REASONS.index(str(r)) for r in row] for row in decisions.part_status[reached]
        ]
        np.testing.assert_array_equal(status[reached], expected_status)
        mse = np.array(browser["mse"], dtype=np.float64)
        step3 = np.isfinite(mse)
        assert step3.sum() > 100
        overall = decisions.reprojection[f"reproj_mse_{config.mse_frame}"]
        np.testing.assert_array_equal(mse[step3], overall[step3])  # bit-exact float64
        kept_counts.add(int((expected["drop_stage"] == "kept").sum()))
        drop_reasons |= set(expected["drop_reason"])
    assert len(kept_counts) >= 5  # the configs really change the decisions
    assert {
        r.value
        for r in (
            Reason.OUT_OF_RANGE,
            Reason.REPROJECTION_ERROR,
            Reason.NOT_SCORED,
            Reason.NON_FINITE_OUTPUT,
            Reason.EMPTY_BOX,
            Reason.NO_PERSON,
            Reason.FEW_CONFIDENT_KEYPOINTS,
            Reason.TEMPORAL_SPIKE,
        )
    } <= drop_reasons


def test_columns_travel_bit_exact_and_constants_fold():
    values = np.array([0.1, np.nan, 3.15, -2.5e-7], np.float32)
    pack = ColumnPack(4)
    column = pack.add_float(values)
    assert set(column) == {"t", "o", "m", "k"}  # bytes in the block, NaN rows as a bitmap
    back = unpack_column(column, pack.raw(), 4)
    assert back.dtype == np.float32 and back.tobytes() == values.tobytes()
    assert pack.add_int(np.full(4, 7, np.int16)) == {"t": "i1", "c": 7}
    assert pack.add_float(np.full(4, np.nan, np.float32)) == {"t": "f4", "c": None}
    with pytest.raises(ValueError, match="1-D"):
        pack.add_float(np.zeros((2, 2)))


def test_a_null_count_reads_as_nothing_counted(recwarn):
    """Counts are nullable in the schema: a null reads as 0, never as a NaN cast to int16."""
    table = random_audit(50, seed=1)
    assert table.column("n_confident_body").null_count == 50  # the test audit leaves it null
    metrics = stored_metrics(table, SelectionConfig())
    assert (metrics.columns["n_confident_body"] == 0).all()
    assert not [w for w in recwarn if "invalid value encountered in cast" in str(w.message)]

"""The report page's signal rules (whatif.js SIGNAL_RULES) are Python's registry, and decide
every row as ``audit --what-if`` does, with rules on, off and at thresholds equal to stored
scores."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.selection import STAGE_LABELS, SelectionConfig, combine, what_if
from furpe_label.selection.signal_rules import SIGNAL_RULES
from furpe_label.workflows.audit import recompute, stored_input_reasons, stored_metrics
from furpe_label.workflows.report.payload import REASONS, row_columns
from tests.support.report_support import NODE, WHATIF_JS, node_decisions, random_audit

pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")

BASE = SelectionConfig()


def test_javascript_rules_are_the_python_registry():
    script = (
        f"process.stdout.write(JSON.stringify(require({json.dumps(str(WHATIF_JS))}).SIGNAL_RULES))"
    )
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == [rule.to_json() for rule in SIGNAL_RULES]


def _configs(table) -> list[SelectionConfig]:
    """Every rule alone at a threshold equal to a stored float32 score (a tie: no fire), all
    rules at the defaults, all off, and all tight."""
    metrics = stored_metrics(table, BASE).columns
    configs = [BASE, SelectionConfig.furpe()]
    for rule in SIGNAL_RULES:
        values = np.concatenate([metrics[c] for c in set(rule.columns().values())])
        values = np.sort(values[np.isfinite(values)])
        tie = float(values[len(values) // 2])
        configs.append(SelectionConfig.furpe(**{rule.field: tie}))
    tight = {}
    for rule in SIGNAL_RULES:
        default = getattr(BASE, rule.field)
        scale = 1.0 if default is None else default
        tight[rule.field] = scale * (0.5 if rule.direction == "above" else 2.0)
    configs.append(SelectionConfig(**tight))
    return configs


def test_browser_signal_decisions_equal_recompute(tmp_path):
    table = random_audit(2000, seed=5)
    rows = row_columns(table, BASE)
    configs = _configs(table)
    decided = node_decisions(rows, list(REASONS), [c.to_dict() for c in configs], tmp_path)
    metrics = stored_metrics(table, BASE)
    reasons_seen = set()
    for config, browser in zip(configs, decided, strict=True):
        expected = recompute(table, BASE, config)
        stages = [STAGE_LABELS[s] for s in browser["stage"]]
        assert stages == expected["drop_stage"].astype(str).tolist(), config
        assert [REASONS[r] for r in browser["reason"]] == expected["drop_reason"].tolist()
        decisions = what_if(metrics, config)
        part_valid = combine(decisions, stored_input_reasons(table)).part_valid
        bits = (np.asarray(browser["part_valid"])[:, None] >> np.arange(4)) & 1
        np.testing.assert_array_equal(bits.astype(bool), part_valid)
        reasons_seen |= set(expected["drop_reason"])
        for part_column in range(4):
            reasons_seen |= {str(r) for r in decisions.signals()[:, part_column]}
    wanted = {rule.reason.value for rule in SIGNAL_RULES} | {Reason.OK.value}
    assert wanted <= reasons_seen  # every rule fired somewhere


def test_each_rule_alone_decides_rows_in_the_browser(tmp_path):
    """Rules sharing a reason (the limb swaps: ratio, gain, arms' bones, hands' rotations,
    legs' likelihood) each act on their own column: alone at a stored score, each changes
    some row's decision from FuRPE's."""
    table = random_audit(2000, seed=5)
    rows = row_columns(table, BASE)
    configs = _configs(table)[1 : 2 + len(SIGNAL_RULES)]  # FuRPE, then each rule alone
    decided = node_decisions(rows, list(REASONS), [c.to_dict() for c in configs], tmp_path)
    furpe = decided[0]
    for rule, browser in zip(SIGNAL_RULES, decided[1:], strict=True):
        changed = (np.asarray(browser["stage"]) != np.asarray(furpe["stage"])) | (
            np.asarray(browser["part_valid"]) != np.asarray(furpe["part_valid"])
        )
        assert changed.any(), rule.field
        reasons = {REASONS[r] for r in np.asarray(browser["reason"])[changed]}
        assert reasons <= {rule.reason.value, Reason.OK.value}, rule.field

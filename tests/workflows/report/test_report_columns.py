"""The report's packed row columns: every kind of column reads back in JavaScript (columns.js,
run with node) as a typed array of its stored dtype holding exactly the stored values; a
damaged block is refused by name; the page stays compact at scale; float32 typed columns
decide as Python one float64 step either side of a score."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import numpy as np
import pytest

from furpe_label.selection import STAGE_LABELS, SelectionConfig
from furpe_label.selection.signal_rules import SIGNAL_RULES
from furpe_label.workflows.audit import recompute, stored_metrics
from furpe_label.workflows.report.column_pack import ColumnPack, unpack_column
from furpe_label.workflows.report.payload import REASONS, row_columns
from tests.support.report_support import COLUMNS_JS, NODE, node_decisions, random_audit

N = 1003  # not a multiple of 8: the bitmap's last byte is partial

_READ = """
const columns = require(process.argv[2]);
const rows = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8"));
columns.decodeRows(rows).then(function (cols) {
  const out = {};
  Object.keys(cols).forEach(function (name) {
    out[name] = {type: cols[name].constructor.name,
                 values: Array.from(cols[name], function (v) { return isNaN(v) ? null : v; }),
                 negative_zero: Array.from(cols[name]).findIndex(function (v) {
                   return Object.is(v, -0);
                 })};
  });
  process.stdout.write(JSON.stringify(out));
}).catch(function (error) { process.stderr.write(String(error.message)); process.exit(3); });
"""


def _node_read(rows: dict, tmp_path) -> subprocess.CompletedProcess:
    script, data = tmp_path / "read.js", tmp_path / "rows.json"
    script.write_text(_READ)
    data.write_text(json.dumps(rows))
    return subprocess.run(
        [NODE, str(script), str(COLUMNS_JS), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _every_kind() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    scores = rng.standard_normal(N).astype(np.float32) * np.float32(1e3)
    holes = scores.copy()
    holes[rng.random(N) < 0.3] = np.nan
    holes[[0, N - 1]] = [np.nan, np.float32(-0.0)]
    return {
        "constant": np.full(N, 5, np.int16),
        "sample_idx": np.arange(7, 7 + N),
        "reasons": rng.integers(-1, 30, N).astype(np.int8),
        "flags": rng.random(N) < 0.5,
        "counts": rng.integers(0, 300, N),
        "wide": rng.integers(0, 60000, N),
        "signed": rng.integers(-70000, 70000, N),
        "scores": scores,
        "holes": holes,
        "none": np.full(N, np.nan, np.float32),
        "same": np.full(N, np.float32(0.1)),
        "doubles": np.where(rng.random(N) < 0.5, np.nan, rng.standard_normal(N) / 3),
    }


@pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")
def test_every_kind_of_column_reads_back_exactly_as_a_typed_array(tmp_path):
    columns = _every_kind()
    pack = ColumnPack(N)
    specs = {}
    for name, values in columns.items():
        if values.dtype.kind == "f":
            specs[name] = pack.add_float(values, "f8" if name == "doubles" else "f4")
        else:
            specs[name] = pack.add_int(values)
    assert "r" in specs["sample_idx"] and "c" in specs["constant"] and "m" in specs["holes"]
    assert [specs[k]["t"] for k in ("reasons", "flags", "counts", "wide", "signed")] == [
        "i1",
        "i1",
        "i2",
        "u2",
        "i4",
    ]
    done = _node_read({"n": N, "columns": specs, "packed": pack.encoded()}, tmp_path)
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    arrays = {"f4": "Float32Array", "f8": "Float64Array", "i1": "Int8Array", "i2": "Int16Array"}
    arrays |= {"u1": "Uint8Array", "u2": "Uint16Array", "i4": "Int32Array"}
    for name, values in columns.items():
        assert read[name]["type"] == arrays[specs[name]["t"]], name
        got = np.array([np.nan if v is None else v for v in read[name]["values"]], np.float64)
        expected = values.astype(np.float64)  # a float32 read as a JS number: the same double
        np.testing.assert_array_equal(got, expected, err_msg=name)
        np.testing.assert_array_equal(unpack_column(specs[name], pack.raw(), N), values)
    assert read["holes"]["negative_zero"] == N - 1  # -0.0 kept: bit-exact, not just equal


@pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")
def test_a_damaged_rows_block_is_refused_by_name(tmp_path):
    pack = ColumnPack(N)
    specs = {"holes": pack.add_float(_every_kind()["holes"])}
    packed = pack.encoded()
    done = _node_read({"n": N, "columns": specs, "packed": {**packed, "bytes": 8}}, tmp_path)
    assert done.returncode == 3 and "inflates to" in done.stderr
    specs["holes"]["k"] += 1
    done = _node_read({"n": N, "columns": specs, "packed": packed}, tmp_path)
    assert done.returncode == 3 and "bitmap marks" in done.stderr


def test_the_rows_block_is_compact():
    """Bytes per row the page spends on the rows (base64 of the deflated block, with the
    column specs), per float32 score column (the integer columns ride along): the float32
    scores' random low bits are the floor. The old page's float64 JSON-base64 columns cost
    10.7 bytes a row each (about 220 bytes a row on this audit before the agreement scores);
    float32 in base64 alone would cost 5.3."""
    n = 20000
    rows = row_columns(random_audit(n, seed=2), SelectionConfig())
    size = len(rows["packed"]["data"]) + len(json.dumps(rows["columns"]))
    score_columns = sum(spec.get("t") == "f4" for spec in rows["columns"].values())
    assert score_columns >= 36
    assert size / n / score_columns < 3.2
    assert rows["columns"]["sample_idx"] == {"t": "i2", "r": 0}
    assert "gt_pa_mpjpe_mm" not in rows["columns"]  # a column no part of the page reads


@pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed")
def test_float32_columns_decide_as_python_next_to_a_score(tmp_path):
    """A signal threshold one float64 step either side of a stored float32 score (Python
    compares the float32 score in float64: the step decides) and a step 2 limit one float64
    step above one (numpy compares in float32: a tie again) decide as ``recompute`` does."""
    table = random_audit(1500, seed=8)
    base = SelectionConfig()
    metrics = stored_metrics(table, base).columns
    configs = []
    for rule in SIGNAL_RULES:
        values = np.concatenate([metrics[c] for c in set(rule.columns().values())])
        score = float(np.sort(values[np.isfinite(values)])[len(values) // 3])
        for direction in (-np.inf, np.inf):
            edge = float(np.nextafter(score, direction))
            configs.append(SelectionConfig.furpe(**{rule.field: edge}))
    betas = metrics["betas_max_abs"][np.isfinite(metrics["betas_max_abs"])]
    edge = float(np.nextafter(np.float64(np.median(betas)), np.inf))
    configs.append(dataclasses.replace(base, betas_max_abs=edge))
    rows = row_columns(table, base)
    decided = node_decisions(rows, list(REASONS), [c.to_dict() for c in configs], tmp_path)
    kept = set()
    for config, browser in zip(configs, decided, strict=True):
        expected = recompute(table, base, config)
        assert [STAGE_LABELS[s] for s in browser["stage"]] == (
            expected["drop_stage"].astype(str).tolist()
        ), config
        assert [REASONS[r] for r in browser["reason"]] == expected["drop_reason"].tolist()
        kept.add(int((expected["drop_stage"] == "kept").sum()))
    assert len(kept) > 3

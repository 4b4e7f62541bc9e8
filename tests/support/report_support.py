"""Helpers of the report tests: random audits with every kind of row, and the page's what-if
JavaScript run with node on a payload."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Part, Reason, Stage
from furpe_label.selection import SelectionConfig
from furpe_label.selection.signal_rules import SIGNAL_RULES
from furpe_label.storage.audit import audit_table
from furpe_label.storage.schema import AUDIT_FIELDS
from tests.support.paths import REPO_ROOT

WHATIF_JS = REPO_ROOT / "workflows" / "report" / "assets" / "whatif.js"
COLUMNS_JS = WHATIF_JS.with_name("columns.js")
NODE = shutil.which("node")
CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium, installed by .ci/run (the browser tests skip without it)."""


def chromium_command(work: Path) -> list[str]:
    """Headless Chromium with a fresh profile under ``work``, its console logged to stderr
    (the flags every page test and the page benchmark share; add flags and the URL)."""
    profile = work / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]


def chromium(url: str, work: Path, *args: str) -> tuple[str, str]:
    """Run headless Chromium on ``url`` with ``args`` (``--dump-dom``, ``--screenshot=...``);
    returns stdout and stderr (console messages are logged to stderr as ``:CONSOLE`` lines)."""
    command = [*chromium_command(work), "--virtual-time-budget=10000", *args, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def console_messages(stderr: str) -> list[str]:
    """The page's console messages (log, warning, error, uncaught exceptions) in Chromium's log."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def element_text(dom: str, element_id: str) -> str:
    """Text of the first element with ``id`` in a dumped DOM (no nested tags)."""
    match = re.search(rf'id="{re.escape(element_id)}"[^>]*>([^<]*)<', dom)
    assert match, f"no element #{element_id} in the page"
    return html.unescape(match.group(1))


_NODE_SCRIPT = """
const api = require(process.argv[2]);
const columns = require(process.argv[3]);
const input = JSON.parse(require("fs").readFileSync(process.argv[4], "utf8"));
columns.decodeRows(input.rows).then(function (cols) {
  const out = input.configs.map(function (config) {
    const d = api.decide(cols, input.reasons, config);
    return {stage: Array.from(d.stage), reason: Array.from(d.reason),
            part_valid: Array.from(d.partValid), status: Array.from(d.status),
            mse: Array.from(d.mse, function (v) { return isNaN(v) ? null : v; })};
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def node_decisions(rows: dict, reasons: list[str], configs: list[dict], work: Path) -> list[dict]:
    """``whatif.js`` ``decide`` of ``rows`` (a payload rows block, read by ``columns.js``)
    under each config."""
    script = work / "decide.js"
    script.write_text(_NODE_SCRIPT)
    data = work / "input.json"
    data.write_text(json.dumps({"rows": rows, "reasons": reasons, "configs": configs}))
    done = subprocess.run(
        [NODE, str(script), str(WHATIF_JS), str(COLUMNS_JS), str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _reach_columns(rng: np.random.Generator, n: int) -> dict[str, object]:
    """Scores of rows that reached step 2 and 3, with NaN / null where a part had no output."""
    out: dict[str, object] = {}
    part_reasons = [Reason.OK] * 8 + [Reason.EMPTY_BOX, Reason.OUTSIDE_IMAGE, Reason.EXPERT_FAILED]
    for part in Part:
        reasons = [part_reasons[k] for k in rng.integers(0, len(part_reasons), n)]
        out[f"expert_reason_{part.value}"] = reasons
        has = np.array([r is Reason.OK for r in reasons])
        out[f"non_finite_{part.value}"] = has & (rng.random(n) < 0.05)
        counts = np.where(has, rng.integers(0, 26, n), 0)
        out[f"reproj_n_kp_{part.value}"] = counts
        for frame, scale in (("norm", 1.0), ("px", 5000.0)):
            mse = (scale * 10 ** rng.uniform(-4, 0.5, n)).astype(np.float32)
            out[f"reproj_mse_{frame}_{part.value}"] = np.where(counts > 0, mse, np.nan)
            out[f"reproj_mean_{frame}_{part.value}"] = np.sqrt(
                out[f"reproj_mse_{frame}_{part.value}"]
            )
    out["betas_max_abs"] = rng.uniform(0, 5, n).astype(np.float32)
    out["rotation_error"] = (10 ** rng.uniform(-8, -1, n)).astype(np.float32)
    for hand in (Part.LEFT_HAND, Part.RIGHT_HAND):
        has = np.array([r is Reason.OK for r in out[f"expert_reason_{hand.value}"]])
        values = rng.uniform(0.2, 4.5, n).astype(np.float32)
        out[f"hand_max_abs_{hand.value}"] = np.where(has, values, np.nan).astype(np.float32)
        out[f"n_visible_kp_{hand.value}"] = rng.integers(0, 22, n)
    for rule in SIGNAL_RULES:  # scores around each rule's default threshold, some NaN
        default = getattr(SelectionConfig(), rule.field)
        scale = 1.0 if default is None else float(default)
        # each rule fires on about 1 in 8 scored rows (whatever its direction), so that with
        # a dozen rules a run still keeps a share of its rows
        low, high = (-0.7, 0.1) if rule.direction == "above" else (-0.1, 0.7)
        for name in set(rule.columns().values()):
            values = (scale * 10 ** rng.uniform(low, high, n)).astype(np.float32)
            out[name] = np.where(rng.random(n) < 0.15, np.nan, values).astype(np.float32)
    return out


def random_audit(n: int, seed: int = 0) -> pa.Table:
    """An audit table of ``n`` rows (schema-valid) mixing every outcome: input and detection
    failures, too few keypoints, every step 2 / 3 score range, temporal scores (0 to ~15
    rad/frame², null on 40 % of the rows); GT errors on some rows.

    Only the scores and the outcome before step 1 matter to a what-if, so the stored decision
    of the other rows is "kept" (step 1 drops are stored as such).
    """
    rng = np.random.default_rng(seed)
    kind = rng.choice(["input", "detect", "few", "reach"], n, p=[0.05, 0.1, 0.1, 0.75])
    columns: dict[str, object] = {
        "sample_idx": np.arange(n),
        "image_path": [f"img{i}.jpg" for i in range(n)],
        "person_idx": np.zeros(n, np.int32),
        "shard": np.zeros(n, np.int32),
        "subject": [f"S{i % 3}" for i in range(n)],
        "suppressed_parts": [[] for _ in range(n)],
    }
    for field in AUDIT_FIELDS:
        if field.name.startswith("seconds_"):
            columns[field.name] = rng.uniform(0, 0.1, n).astype(np.float32)
    confident = rng.integers(0, 138, n)
    confident[kind == "few"] = rng.integers(0, 12, int((kind == "few").sum()))
    columns["n_confident_kp"] = confident
    reach = _reach_columns(rng, n)
    not_reached = kind != "reach"
    first_reason = {
        "input": Reason.IMAGE_UNREADABLE,
        "detect": Reason.NO_PERSON,
        "few": Reason.FEW_CONFIDENT_KEYPOINTS,
        "reach": Reason.OK,
    }
    for name, values in reach.items():
        if name.startswith("expert_reason_"):
            values = [
                first_reason[k] if k != "reach" else v for k, v in zip(kind, values, strict=True)
            ]
        elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
            values = np.where(not_reached, np.nan, values)
        elif isinstance(values, np.ndarray) and values.dtype == bool:
            values = values & ~not_reached
        columns[name] = values
    columns["step2_scored"] = ~not_reached
    columns["step3_scored"] = scored3 = ~not_reached & (rng.random(n) < 0.9)
    for part in Part:  # step 3 never ran there: nothing compared (NaN distances)
        columns[f"reproj_n_kp_{part.value}"] = np.where(
            scored3, reach[f"reproj_n_kp_{part.value}"], 0
        )
        for stat in ("mse", "mean"):
            for frame in ("norm", "px"):
                name = f"reproj_{stat}_{frame}_{part.value}"
                columns[name] = np.where(scored3, columns[name], np.nan).astype(np.float32)
    tracked = ~not_reached & (rng.random(n) < 0.6)  # video rows with both track neighbours
    accel = rng.gamma(2.0, 1.5, n).astype(np.float32)
    columns["temporal_accel_rad"] = np.where(tracked, accel, np.nan).astype(np.float32)
    columns["drop_reason"] = [first_reason[k] for k in kind]
    stage = {
        "input": Stage.INPUT,
        "detect": Stage.KEYPOINTS,
        "few": Stage.KEYPOINTS,
        "reach": Stage.KEPT,
    }
    columns["drop_stage"] = [stage[k].label for k in kind]
    columns["drop_step"] = [1 if k == "few" else None for k in kind]
    gt = rng.gamma(4.0, 25.0, n).astype(np.float32)
    columns["gt_mpjpe_mm"] = [
        None if k != "reach" else float(v) for k, v in zip(kind, gt, strict=True)
    ]
    return audit_table(columns)


def audit_only_run(out: Path, table: pa.Table) -> Path:
    """A finished one-shard run folder for the audit ``table`` (no images; label values from
    :func:`tests.support.storage_data.label_rows`, ``valid`` where the audit keeps): enough for
    the report's tables and what-if (``--gallery 0``). Written by the run's own writers, so
    the shard's marker records its files' digests."""
    from furpe_label.storage.label_store import LabelStore
    from furpe_label.storage.manifest import build_manifest_table
    from furpe_label.storage.run_dir import RunDir
    from furpe_label.storage.run_info import RunInfo
    from tests.support.storage_data import label_rows

    info = RunInfo(
        config={"dataset": "random-audit", "selection": {}},
        code_version="tests.support.report_support",
        synthetic=False,
        detector="none (random audit rows)",
        experts={"body": "none"},
    )
    run = RunDir(out)
    run.start(info)
    n = table.num_rows
    images = [f"/random-audit/{i:07d}.jpg" for i in range(n)]
    run.write_manifest(
        build_manifest_table({"dataset": ["random-audit"] * n, "image_path": images})
    )
    store = LabelStore.create(run.labels, n, n, chunk_size=math.gcd(n, 32), journal=run.journal)
    labels = label_rows(store.fields, 0, n)
    columns = table.to_pydict()
    labels["valid"] = np.asarray(columns["drop_stage"]) == Stage.KEPT.label
    run.commit_shard(store, "random-audit", 0, labels, columns)
    return out

"""`furpe-label report OUT`: an offline page that loads in headless Chromium without console
errors, whose what-if (set through the URL hash, which moves the sliders) changes the kept count
to exactly what `furpe-label audit --what-if` prints, with the funnel and overlay pictures on
screen; and its ground-truth block on an audit with GT errors."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from furpe_label.selection import SelectionConfig
from furpe_label.workflows.audit import load_audit, parse_what_if, recompute
from furpe_label.workflows.report.page import build_report
from tests.support.pipeline_support import run_cli
from tests.support.report_support import (
    CHROMIUM,
    audit_only_run,
    chromium,
    console_messages,
    element_text,
    random_audit,
)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (.ci/run installs it)"
)
WHAT_IF = ("step1.min_count=90", "step3.max_mse=0.01")


def _kept(out: Path, assignments: tuple[str, ...]) -> int:
    table, base = load_audit(out)
    frame = recompute(table, base, parse_what_if(assignments, base))
    return int((frame["drop_stage"] == "kept").sum())


def _page_data(page: Path) -> dict:
    text = page.read_text()
    pattern = r'<script id="report-data" type="application/json">(.*?)</script>'
    match = re.search(pattern, text, re.S)
    assert match
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def demo_report(demo_run) -> Path:
    code, output = run_cli("report", str(demo_run), "--gallery", "12")
    assert code == 0, output
    return demo_run / "report" / "index.html"


@pytest.mark.slow
def test_the_page_is_one_offline_file_with_its_pictures_beside_it(demo_report, demo_run):
    text = demo_report.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', text)  # no network asset
    assert "<link" not in text and "@import" not in text
    data = _page_data(demo_report)
    table, _ = load_audit(demo_run)
    assert data["rows"]["n"] == table.num_rows
    assert data["provenance"]["synthetic"] and "SYNTHETIC BODY MODELS" in text
    assert 0 < len(data["gallery"]) <= 12
    assert {e["stage"] for e in data["gallery"]} >= {0, 2}  # kept and dropped samples
    for entry in data["gallery"]:
        picture = cv2.imread(str(demo_report.parent / entry["file"]))
        assert picture is not None and picture.shape[:2] == (entry["height"], entry["width"])
    assert set(data["meanings"]) == set(data["reasons"])


@pytest.mark.slow
@needs_chromium
def test_page_loads_and_a_slider_move_changes_the_kept_count(demo_report, demo_run, tmp_path):
    url = demo_report.resolve().as_uri()
    dom, log = chromium(url, tmp_path, "--dump-dom")
    assert console_messages(log) == []
    assert 'data-ready="1"' in dom and 'id="js-errors" hidden' in dom
    stored = _kept(demo_run, ())
    assert element_text(dom, "kept-count") == str(stored)
    assert len(re.findall(r'<img[^>]*data-loaded="1"', dom)) >= 1  # overlays loaded

    hash_dom, log = chromium(url + "#" + "&".join(WHAT_IF), tmp_path, "--dump-dom")
    assert console_messages(log) == []
    expected = _kept(demo_run, WHAT_IF)
    assert expected != stored
    assert element_text(hash_dom, "kept-count") == str(expected)
    command = element_text(hash_dom, "command")
    assert command == (
        f"furpe-label audit '{demo_run.resolve()}' " + " ".join(f"--what-if {a}" for a in WHAT_IF)
    )
    code, output = run_cli("audit", str(demo_run), *[w for a in WHAT_IF for w in ("--what-if", a)])
    assert code == 0 and f"kept {expected} (" in output  # the command reproduces the choice


@pytest.mark.slow
@needs_chromium
def test_screenshot_shows_the_funnel_and_an_overlay(demo_report, tmp_path):
    shot = tmp_path / "page.png"
    _, log = chromium(
        demo_report.resolve().as_uri(),
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1400,5200",
        f"--screenshot={shot}",
    )
    assert console_messages(log) == []
    image = cv2.imread(str(shot))[:, :, ::-1].astype(int)  # RGB
    funnel_bar = np.all(image == (0x3B, 0x7D, 0xD8), axis=-1)
    assert funnel_bar.sum() > 2000, "no funnel bars on screen"
    detected = np.abs(image - (40, 230, 40)).max(-1) < 40  # the overlays' detected keypoints
    title_band = np.all(image < 12, axis=-1)  # the pictures' black title bands
    assert detected.sum() > 50 and title_band.sum() > 5000, "no overlay picture on screen"


@needs_chromium
def test_ground_truth_block_and_what_if_on_a_large_audit(tmp_path):
    table = random_audit(4000, seed=5)
    out = audit_only_run(tmp_path / "run", table)
    page = build_report(out, gallery=0)
    what_if = ("step2.betas_max_abs=2.5", "step2.hand_min_keypoints=12", "step3.max_mse=0.05")
    dom, log = chromium(page.resolve().as_uri() + "#" + "&".join(what_if), tmp_path, "--dump-dom")
    assert console_messages(log) == []
    base = SelectionConfig()
    frame = recompute(table, base, parse_what_if(what_if, base))
    kept = frame["drop_stage"].to_numpy() == "kept"
    assert element_text(dom, "kept-count") == f"{int(kept.sum()):,}"
    error = frame["gt_mpjpe_mm"].to_numpy(dtype=np.float64)
    has = np.isfinite(error)
    cutoff = math.floor(np.sort(error[has])[has.sum() // 2] + 0.5)  # the page's default
    good = error <= cutoff
    precision = 100 * (good & kept & has).sum() / (kept & has).sum()
    recall = 100 * (good & kept & has).sum() / (good & has).sum()
    assert f"precision (kept labels that are good): {precision:.1f} %" in dom
    assert f"recall (good labels that are kept): {recall:.1f} %" in dom


def test_a_folder_without_a_finished_shard_is_refused_by_name(tmp_path):
    out = audit_only_run(tmp_path / "run", random_audit(10))
    shutil.rmtree(out / "audit")
    shutil.rmtree(out / "complete")  # no finished shard (a missing part of one is damage)
    code, output = run_cli("report", str(out))
    assert code != 0 and "no completed shard yet" in output
    code, output = run_cli("report", str(tmp_path))
    assert code != 0 and "not a furpe-label run folder" in output

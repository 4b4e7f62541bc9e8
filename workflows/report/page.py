"""``furpe-label report OUT``: the static, offline audit page ``OUT/report/index.html``.

One HTML file with its style, scripts (``assets/``) and data inline, and the gallery's JPEGs
beside it in ``OUT/report/gallery/``: no network, no framework; it opens from disk. The data
block (``<script id="report-data" type="application/json">``) holds every stored selection
score (:mod:`~furpe_label.workflows.report.payload`: the column specs here, their packed bytes
in ``<script id="report-rows" type="application/octet-stream">``), the run's thresholds, the
reasons with their meanings, provenance, timings, the gallery entries and ``calibrate``'s
precision / recall curve when OUT has one; the page re-decides the selection in the browser
when a threshold moves (``whatif.js``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from furpe_label.experts.vocabulary import Reason
from furpe_label.selection import SelectionConfig
from furpe_label.storage.run_dir import RunDir, atomic_write_bytes
from furpe_label.workflows.audit import WHAT_IF_KEYS, load_checked_audit
from furpe_label.workflows.calibration_record import read_calibration_record
from furpe_label.workflows.report.gallery import GALLERY_FOLDER, choose_gallery, write_gallery
from furpe_label.workflows.report.payload import REASONS, STAGES, row_columns, sorted_audit
from furpe_label.workflows.report.samples import RunSamples
from furpe_label.workflows.report.summary import provenance, timings

__all__ = ["REPORT_FOLDER", "build_report", "page_data", "render_page"]

REPORT_FOLDER = "report"
ASSETS = Path(__file__).resolve().parent / "assets"
SCRIPTS = ("columns.js", "whatif.js", "charts.js", "controls.js", "sections.js", "page.js")
"""Inlined in this order (page.js uses the others)."""

_BODY = """<header><h1>furpe-label audit report</h1>
<div class="sub">{out} · generated {generated} · {code}</div></header>
<nav><a href="#whatif">what-if</a><a href="#funnel">funnel</a><a href="#reasons">drop reasons</a>
<a href="#scores-section">scores</a><a href="#truth-section">ground truth</a>
<a href="#timing-section">timings</a><a href="#provenance-section">provenance</a>
<a href="#gallery-section">gallery</a></nav>
<main>
<div id="js-errors" hidden></div>
{synthetic}
{unfinished}
<div id="notes"></div>
<div class="top">
<section id="whatif"><h2>What-if: keep thresholds</h2>
<div class="kept-line">kept <span id="kept-count">-</span> of {total} person instances
(<span id="kept-percent">-</span>); the run kept <span id="kept-stored">-</span></div>
<div id="controls"></div>
<p><button id="reset">reset to the run's thresholds</button></p>
<div class="command" id="command"></div><div class="muted" id="command-note"></div>
<div class="muted" id="decide-ms"></div>
</section>
<section id="funnel"><h2>Selection funnel</h2>
<p class="muted">rows left after each stage under the what-if thresholds; dashed outline: the
run's own decisions</p>
<div id="funnel-chart"></div><p class="muted" id="suppressed"></p>
</section>
</div>
<section><h2>Per dataset / subject</h2><div id="funnel-table"></div>
<p class="muted" id="funnel-note"></p></section>
<section id="reasons"><h2>Drop reasons</h2><div id="reasons-table"></div></section>
<section id="scores-section"><h2>Scores of each step, thresholds marked</h2>
<p class="muted">faded bars fall on the dropped side of the rule</p>
<div id="scores" class="cards"></div></section>
<section id="truth-section"><h2>Ground truth</h2><div id="truth"></div></section>
<section id="timing-section"><h2>Throughput and timings per stage</h2>
<div id="timings"></div></section>
<section id="provenance-section"><h2>Provenance</h2><div id="provenance"></div></section>
<section id="gallery-section"><h2>Gallery: kept and dropped samples</h2>
<p class="muted">image with the labelled SMPL-X mesh silhouette (blue), detected keypoints
(green; grey: below the confidence threshold) vs projected SMPL-X keypoints (red crosses, yellow
residuals), crop boxes per part (dashed: part not usable). `furpe-label inspect OUT --sample N`
draws any other sample.</p>
<div id="gallery"></div></section>
</main>"""


def page_data(
    out: Path,
    table: pa.Table,
    base: SelectionConfig,
    gallery: list[dict[str, Any]],
    notes: list[str],
    unfinished: str | None = None,
) -> dict[str, Any]:
    """The JSON the page embeds (see the module docstring) for the run ``out``, its audit
    ``table`` and the selection config ``base`` it was decided with; ``unfinished``: the
    warning of a run with shards still to do (shown at the top)."""
    run_dir = RunDir(out)
    table = sorted_audit(table)
    return {
        "schema": 1,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "provenance": provenance(run_dir.read_info(), out),
        "selection": base.to_dict(),
        "what_if_keys": dict(WHAT_IF_KEYS),
        "reasons": list(REASONS),
        "meanings": {reason.value: reason.meaning for reason in Reason},
        "stages": list(STAGES),
        "rows": row_columns(table, base),
        "timings": timings(run_dir, table),
        "gallery": gallery,
        "notes": notes,
        "calibration": _calibration(run_dir, notes),
        "unfinished": unfinished,
    }


def _calibration(run_dir: RunDir, notes: list[str]) -> dict[str, Any] | None:
    """``calibrate``'s record (OUT/calibration.json), or None (with a note when the file is
    there but unusable)."""
    try:
        record = read_calibration_record(run_dir.calibration)
    except ValueError as error:
        notes.append(f"calibration left out: {error}")
        return None
    return record if record and record.get("curve") else None


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside a <script> element (no "</" and no HTML comment openers)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def render_page(data: dict[str, Any]) -> str:
    """The whole HTML document."""
    style = (ASSETS / "report.css").read_text()
    scripts = "\n".join(f"<script>\n{(ASSETS / name).read_text()}\n</script>" for name in SCRIPTS)
    prov = data["provenance"]
    synthetic = (
        '<div class="synthetic">SYNTHETIC BODY MODELS: NOT REAL LABELS</div>'
        if prov["synthetic"]
        else ""
    )
    unfinished = (
        f'<div class="unfinished">{html.escape(data["unfinished"])}</div>'
        if data.get("unfinished")
        else ""
    )
    rows = data["rows"]
    packed = rows["packed"]
    meta = {**data, "rows": {**rows, "packed": {"bytes": packed["bytes"]}}}
    body = _BODY.format(
        out=html.escape(prov["out"]),
        generated=html.escape(data["generated"]),
        code=html.escape(prov["code_version"]),
        synthetic=synthetic,
        unfinished=unfinished,
        total=f"{data['rows']['n']:,}",
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>furpe-label report: {html.escape(Path(prov['out']).name)}</title>\n"
        f"<style>\n{style}\n</style></head>\n<body>\n{body}\n"
        f'<script id="report-data" type="application/json">{_script_json(meta)}</script>\n'
        f'<script id="report-rows" type="application/octet-stream">{packed["data"]}</script>\n'
        f"{scripts}\n</body></html>\n"
    )


def build_report(
    out: str | Path,
    models_dir: str | Path | None = None,
    gallery: int = 48,
    max_side: int = 640,
) -> Path:
    """Write ``OUT/report/index.html`` and its gallery; returns the page's path.

    Args:
        out: the run folder.
        models_dir: body-model folder for the mesh silhouettes (default: the run's).
        gallery: how many samples to picture (kept and dropped; 0: none).
        max_side: longer side of a gallery picture, pixels.
    """
    out = Path(out)
    folder = out / REPORT_FOLDER
    table, base, check = load_checked_audit(out, labels=True)
    if table.num_rows == 0:
        raise ValueError(f"{out}: no completed shard yet (the audit is empty)")
    notes: list[str] = []
    entries: list[dict[str, Any]] = []
    pictures = folder / GALLERY_FOLDER
    if pictures.is_dir():  # pictures of an earlier report: this one draws its own
        for old in pictures.glob("*.jpg"):
            old.unlink()
    chosen = choose_gallery(table, gallery)
    if chosen:
        samples = RunSamples(out, models_dir, table)
        if samples.mesh_note:
            notes.append(samples.mesh_note)
        entries = write_gallery(samples, chosen, folder, max_side)
    page = folder / "index.html"
    folder.mkdir(parents=True, exist_ok=True)
    data = page_data(out, table, base, entries, notes, check.unfinished_note())
    document = render_page(data)
    atomic_write_bytes(page, document.encode("utf-8"))
    return page

"""The report's gallery: a bounded, reproducible choice of kept and dropped samples, each
rendered once as a JPEG beside the page (``OUT/report/gallery/<sample_idx>.jpg``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Stage
from furpe_label.selection import STAGE_LABELS
from furpe_label.storage.audit import stored_stages
from furpe_label.workflows.report.overlay import render_overlay
from furpe_label.workflows.report.samples import RunSamples

__all__ = ["GALLERY_FOLDER", "choose_gallery", "write_gallery"]

GALLERY_FOLDER = "gallery"
_JPEG_QUALITY = 88
_BATCH = 16  # samples per SMPL-X forward


def _spread(rows: np.ndarray, count: int) -> list[int]:
    """``count`` rows evenly spread over ``rows`` (all when fewer)."""
    if count >= len(rows):
        return rows.tolist()
    return rows[np.linspace(0, len(rows) - 1, count).round().astype(int)].tolist()


def choose_gallery(table: pa.Table, limit: int) -> list[int]:
    """Sample indices to picture: half the budget for kept rows, the other half shared
    round-robin by every (drop stage, reason) group so rare reasons are shown too; evenly
    spread inside each group (deterministic). Sorted by sample index.

    Args:
        table: the run's audit.
        limit: at most this many samples (0: none).
    """
    if limit <= 0 or table.num_rows == 0:
        return []
    sample = table.column("sample_idx").to_numpy()
    stage = stored_stages(table)
    reason = np.asarray(table.column("drop_reason").cast(pa.string()).to_pylist(), object)
    kept = np.sort(sample[stage == Stage.KEPT])
    groups = [
        np.sort(sample[(stage == s) & (reason == r)])
        for s, r in sorted(
            {(int(s), str(r)) for s, r in zip(stage, reason, strict=True) if s != Stage.KEPT}
        )
    ]
    budget_dropped = min(sum(len(g) for g in groups), limit - min(len(kept), limit // 2))
    shares = [0] * len(groups)
    while budget_dropped > 0:
        progressed = False
        for k, group in enumerate(groups):
            if budget_dropped > 0 and shares[k] < len(group):
                shares[k] += 1
                budget_dropped -= 1
                progressed = True
        if not progressed:
            break
    chosen = [s for group, share in zip(groups, shares, strict=True) for s in _spread(group, share)]
    chosen += _spread(kept, limit - len(chosen))
    return sorted(chosen)


def write_gallery(
    samples: RunSamples, chosen: Sequence[int], folder: Path, max_side: int = 640
) -> list[dict[str, Any]]:
    """Render each chosen sample to ``folder/<GALLERY_FOLDER>/<sample:07d>.jpg``.

    Returns:
        One entry per sample for the page: ``sample``, ``file`` (relative to ``folder``),
        ``title``, ``caption`` (lines), ``stage`` (stored Stage value), ``reason``.
    """
    target = folder / GALLERY_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    entries = []
    for start in range(0, len(chosen), _BATCH):
        batch = [int(s) for s in chosen[start : start + _BATCH]]
        for sample, overlay in zip(batch, samples.overlays(batch), strict=True):
            name = f"{sample:07d}.jpg"
            picture = render_overlay(overlay, max_side)
            ok, data = cv2.imencode(
                ".jpg", picture[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY]
            )
            if not ok:
                raise RuntimeError(f"could not encode the picture of sample {sample}")
            (target / name).write_bytes(data.tobytes())
            row = samples.row(sample)
            entries.append(
                {
                    "sample": sample,
                    "file": f"{GALLERY_FOLDER}/{name}",
                    "title": overlay.title,
                    "caption": list(overlay.lines),
                    "stage": STAGE_LABELS.index(row["drop_stage"]),
                    "reason": str(row["drop_reason"]),
                    "width": int(picture.shape[1]),
                    "height": int(picture.shape[0]),
                }
            )
    return entries

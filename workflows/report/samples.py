"""Pictures of single samples of a run folder: what :func:`render_overlay` needs, read from
``labels.zarr`` (keypoints, projections, boxes, parameters, camera), the audit (statuses,
outcome) and the manifest (the image or video frame, decoded as the run decoded it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from furpe_label.experts.vocabulary import Part, Stage
from furpe_label.pipeline.config import RunConfig
from furpe_label.pipeline.decode import decode_image, decode_video_frames
from furpe_label.pipeline.worker_models import models_folder
from furpe_label.selection.step1_keypoints import confident_mask
from furpe_label.storage.label_store import LabelStore
from furpe_label.storage.manifest import read_manifest
from furpe_label.storage.path_text import text_to_path
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.schema import SMPLX_PARAMS
from furpe_label.workflows.report.mesh import MeshProjector
from furpe_label.workflows.report.overlay import SampleOverlay

__all__ = ["RunSamples", "outcome_text"]

logger = logging.getLogger(__name__)

_BOXES = tuple(f"box_{part.value}" for part in Part)


def outcome_text(stage: str, reason: str) -> str:
    """``kept`` or ``dropped at <stage>: <reason>`` (``stage``: the audit's ``drop_stage``)."""
    if stage == Stage.KEPT.label:
        return "kept"
    return f"dropped at {stage}: {reason}"


class RunSamples:
    """Reads samples of one run folder for pictures.

    Args:
        out: the run folder.
        models_dir: body-model folder for the mesh silhouettes; default: the run's own
            (``run.json`` config ``models``; ``synthetic``: the synthetic family).
        table: the audit rows to picture (default: the checked run's complete shards).
    """

    def __init__(
        self, out: str | Path, models_dir: str | Path | None = None, table: pa.Table | None = None
    ) -> None:
        self.run_dir = RunDir(out)
        info = self.run_dir.read_info()
        self.config = RunConfig.from_dict(dict(info.config))
        self.selection = self.config.selection
        self.store = LabelStore.open(self.run_dir.labels)
        if table is None:  # the complete shards' rows of a checked run
            from furpe_label.workflows.audit import load_audit

            table = load_audit(out)[0]
        self.table = table.sort_by("sample_idx")
        self._sample_idx = self.table.column("sample_idx").to_numpy()
        self.projector, self.mesh_note = self._projector(models_dir)

    def _projector(self, models_dir: str | Path | None) -> tuple[MeshProjector | None, str]:
        if models_dir is None and not self.config.synthetic_models:
            models_dir = self.config.models
        try:
            folder = Path(models_dir) if models_dir is not None else models_folder(self.config)
            return MeshProjector(folder), ""
        except (FileNotFoundError, ValueError) as error:
            note = (
                f"mesh silhouettes left out: the run's SMPL-X could not be loaded ({error}); "
                "pass --models DIR"
            )
            logger.warning(note)
            return None, note

    def __len__(self) -> int:
        return self.table.num_rows

    def row(self, sample: int) -> dict:
        """The sample's audit row (KeyError naming the valid range)."""
        position = int(np.searchsorted(self._sample_idx, sample))
        if position >= len(self) or self._sample_idx[position] != sample:
            raise KeyError(
                f"sample {sample} is not in this run's audit (sample_idx "
                f"{self._sample_idx.min()}..{self._sample_idx.max()})"
            )
        return self.table.slice(position, 1).to_pylist()[0]

    def _labels(self, sample: int) -> dict[str, np.ndarray]:
        names = ("keypoints2d", "keypoints2d_proj", "part_valid", "camera", *_BOXES, *SMPLX_PARAMS)
        return {name: self.store.read(name, sample) for name in names}

    def _image(self, sample: int) -> tuple[np.ndarray | None, str]:
        """The sample's image (or video frame) decoded as the run decoded it (None when it
        cannot be), and its name."""
        columns = ["sample_idx", "image_path", "video_path", "frame_index"]
        table = read_manifest(self.run_dir.manifest, columns, rows=(sample, sample + 1))
        if table.num_rows != 1:
            raise KeyError(f"sample {sample} is not in the run's manifest")
        row = table.to_pylist()[0]
        limits = self.config.decode_limits
        if row["video_path"] is None:
            return decode_image(text_to_path(row["image_path"]), limits).image, row["image_path"]
        frame = int(row["frame_index"])
        video = text_to_path(row["video_path"])
        _, decoded = next(iter(decode_video_frames(video, [frame], limits)))
        return decoded.image, f"{row['video_path']}#{frame}"

    def _vertices(self, labels: list[dict[str, np.ndarray]]) -> list[np.ndarray | None]:
        """Projected mesh vertices of each sample with finite parameters and camera."""
        out: list[np.ndarray | None] = [None] * len(labels)
        if self.projector is None:
            return out
        usable = [
            k
            for k, lab in enumerate(labels)
            if all(np.isfinite(lab[n]).all() for n in (*SMPLX_PARAMS, "camera", "box_body"))
            and lab["camera"][0] > 0
        ]
        if usable:
            params = {n: np.stack([labels[k][n] for k in usable]) for n in SMPLX_PARAMS}
            cameras = np.stack([labels[k]["camera"] for k in usable])
            boxes = np.stack([labels[k]["box_body"] for k in usable])
            for k, points in zip(
                usable, self.projector.project(params, cameras, boxes), strict=True
            ):
                out[k] = points
        return out

    def overlays(self, samples: Sequence[int]) -> list[SampleOverlay]:
        """One :class:`SampleOverlay` per sample index (one SMPL-X forward for all)."""
        rows = [self.row(int(s)) for s in samples]
        labels = [self._labels(int(s)) for s in samples]
        vertices = self._vertices(labels)
        faces = None if self.projector is None else self.projector.faces
        out = []
        for sample, row, lab, verts in zip(samples, rows, labels, vertices, strict=True):
            image, name = self._image(int(sample))
            keypoints = lab["keypoints2d"].astype(np.float64)
            confident = confident_mask(np.nan_to_num(keypoints)[None], self.selection)[0]
            out.append(
                SampleOverlay(
                    image=image,
                    keypoints2d=keypoints,
                    confident=confident & np.isfinite(keypoints[:, :2]).all(1),
                    projected=lab["keypoints2d_proj"].astype(np.float64),
                    boxes=np.stack([lab[b] for b in _BOXES]).astype(np.float64),
                    part_valid=lab["part_valid"].astype(bool),
                    part_status=[str(row[f"status_{p.value}"] or "-") for p in Part],
                    vertices=verts,
                    faces=faces if verts is not None else None,
                    title=self.title(int(sample)),
                    lines=self.caption(int(sample), name),
                )
            )
        return out

    def title(self, sample: int) -> str:
        """``#<sample> <dataset>/<subject>: kept`` (or the drop stage and reason)."""
        row = self.row(sample)
        where = "/".join(str(row[k]) for k in ("dataset", "subject") if row.get(k) is not None)
        return f"#{sample} {where}: {outcome_text(str(row['drop_stage']), str(row['drop_reason']))}"

    def caption(self, sample: int, image_name: str = "") -> list[str]:
        """Short lines under the title: image, step scores, suppressed parts."""
        row = self.row(sample)
        scores = [f"confident kp {row['n_confident_kp']}"]
        frame = self.selection.mse_frame
        mse = row.get(f"reproj_mse_{frame}")
        if mse is not None and np.isfinite(mse):
            scores.append(f"reprojection mse {mse:.4g} ({frame})")
        if row.get("gt_mpjpe_mm") is not None and np.isfinite(row["gt_mpjpe_mm"]):
            label = "" if str(row["drop_stage"]) == Stage.KEPT.label else " (candidate)"
            scores.append(f"GT MPJPE{label} {row['gt_mpjpe_mm']:.1f} mm")
        if row.get("suppressed_parts"):
            scores.append("suppressed " + ", ".join(row["suppressed_parts"]))
        name = Path(image_name).name if image_name else Path(str(row["image_path"])).name
        return [name, " | ".join(scores)]

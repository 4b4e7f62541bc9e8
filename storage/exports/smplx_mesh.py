"""The SMPL-X mesh and joints of exported parameters, from the run's own SMPL-X file.

Formats that carry ``vertices`` / ``keypoints3d`` (FuRPE's per-image dicts, ExPose's vertex
files) get them from exactly the parameters written beside them: ``smplx.SMPLX`` built with
``flat_hand_mean=False`` (it adds the model's ``hands_mean`` to the hand poses it is given, the
meaning of FuRPE's mean-relative hands) and ``use_face_contour=True`` (144 joints, as FuRPE's
``keypoints3d``). The file must be the one the run used: its SHA-256 is checked against
``run.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from furpe_label.experts.bodymodels.loading import load_body_model
from furpe_label.storage.exports.run_rows import ExportError

__all__ = ["SMPLX_BETAS", "SMPLX_EXPRESSION", "SmplxMesh"]

SMPLX_BETAS = 10
SMPLX_EXPRESSION = 10
_ZERO3 = ("jaw_pose", "leye_pose", "reye_pose", "transl")


class SmplxMesh:
    """Neutral SMPL-X of a models folder, checked against the run's recorded file hash.

    Args:
        models_dir: the body-model folder (the synthetic family's cache folder for
            ``--models synthetic`` runs).
        run_model_sha256: ``run.json``'s ``model_sha256`` (file name -> SHA-256).

    Attributes:
        hand_mean: (2, 15, 3) float32 ``hands_meanl`` / ``hands_meanr``, axis-angle radians.
        synthetic: whether the file is the synthetic stand-in family.
    """

    def __init__(self, models_dir: Path | str, run_model_sha256: Mapping[str, str]) -> None:
        model = load_body_model(
            models_dir,
            "smplx",
            "neutral",
            num_betas=SMPLX_BETAS,
            num_expression_coeffs=SMPLX_EXPRESSION,
            flat_hand_mean=False,
            use_face_contour=True,
        )
        recorded = run_model_sha256.get(model.path.name)
        if recorded is None and model.sha256 not in run_model_sha256.values():
            raise ExportError(
                f"the run recorded no SMPL-X file like {model.path} "
                f"(it recorded {sorted(run_model_sha256)}): pass the run's "
                "models folder with --models"
            )
        if recorded is not None and recorded != model.sha256:
            raise ExportError(
                f"{model.path} is not the SMPL-X file the run used (SHA-256 {model.sha256[:12]}"
                f"... vs {recorded[:12]}... in run.json): pass the run's models folder"
            )
        self.layer = model.layer.eval()
        self.synthetic = model.synthetic is not None
        layer = self.layer
        self.hand_mean = np.stack(
            [
                layer.left_hand_mean.detach().cpu().numpy().reshape(15, 3),
                layer.right_hand_mean.detach().cpu().numpy().reshape(15, 3),
            ]
        ).astype(np.float32)

    def forward(self, params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Vertices and joints of B bodies.

        Args:
            params: smplx names -> arrays with B rows: ``global_orient`` (B, 3), ``body_pose``
                (B, 21, 3), ``betas`` (B, 10), ``left_hand_pose`` / ``right_hand_pose``
                (B, 15, 3) RELATIVE to the mean hand, and optionally ``jaw_pose``,
                ``leye_pose``, ``reye_pose``, ``transl`` (B, 3) and ``expression`` (B, 10)
                (zero when left out); axis-angle radians, metres.

        Returns:
            vertices (B, 10475, 3) and joints (B, 144, 3), float32 metres (smplx joint order
            with the face contour).
        """
        count = len(params["global_orient"])
        zeros = np.zeros((count, 3), np.float32)
        arrays = {name: params.get(name, zeros) for name in _ZERO3}
        arrays["expression"] = params.get("expression", np.zeros((count, SMPLX_EXPRESSION)))
        for name in ("global_orient", "body_pose", "betas", "left_hand_pose", "right_hand_pose"):
            arrays[name] = params[name]
        tensors = {
            name: torch.as_tensor(np.asarray(value, np.float32).reshape(count, -1))
            for name, value in arrays.items()
        }
        if not all(torch.isfinite(t).all() for t in tensors.values()):
            raise ValueError("SMPL-X parameters must be finite to build a mesh")
        with torch.no_grad():
            output = self.layer(**tensors, return_verts=True)
        return output.vertices.numpy(), output.joints.numpy()

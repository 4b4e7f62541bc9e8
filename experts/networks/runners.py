"""Batched runners: warped uint8 crops in, :class:`ExpertRecord` out.

Each runner owns one network in eval mode on one device, applies the official input
normalisation (:mod:`.preprocess`), runs under ``torch.no_grad`` in chunks of at most
``batch_size`` crops, optionally under fp16 autocast (CUDA only: on the CPU the flag is
ignored), and post-processes into the official parameter layout.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch

from furpe_label.experts.networks.deca import DecaFlameEncoder, decompose_code
from furpe_label.experts.networks.frankmocap import FrankMocapHandEncoder, unflip_left_hand
from furpe_label.experts.networks.preprocess import (
    check_crops,
    deca_tensor,
    frankmocap_tensor,
    spin_tensor,
)
from furpe_label.experts.networks.spin import SpinHMR
from furpe_label.experts.records import (
    BodyParams,
    ExpertRecord,
    FaceParams,
    HandParams,
)
from furpe_label.experts.vocabulary import Part

__all__ = ["DecaExpert", "FrankMocapExpert", "NetworkExpert", "SpinExpert"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64


class NetworkExpert:
    """Shared machinery: device placement, eval mode, autocast, chunking.

    Args:
        model: the network (moved to ``device`` and set to eval mode).
        checkpoint_sha256: hex SHA-256 of the checkpoint file the weights came from.
        device: where to run.
        fp16: run the network under float16 autocast (CUDA only; ignored on the CPU).
        batch_size: the most crops per forward pass.
    """

    name = ""
    part = Part.BODY
    crop_dtypes: tuple[type, ...] = (np.uint8,)

    def __init__(
        self,
        model: torch.nn.Module,
        checkpoint_sha256: str,
        device: torch.device,
        fp16: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.checkpoint_sha256 = checkpoint_sha256
        self.fp16 = bool(fp16) and self.device.type == "cuda"
        if fp16 and not self.fp16:
            logger.info("%s: fp16 autocast requested on %s; running float32", self.name, device)
        self.batch_size = batch_size

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.fp16:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _chunks(self, count: int) -> Iterator[slice]:
        for start in range(0, count, self.batch_size):
            yield slice(start, min(start + self.batch_size, count))

    def _run(
        self, crops: np.ndarray, step: Callable[[slice], dict[str, torch.Tensor]]
    ) -> dict[str, np.ndarray]:
        """Apply ``step`` per chunk; concatenate its tensors into numpy arrays."""
        check_crops(crops, self.crop_dtypes)
        pieces: dict[str, list[np.ndarray]] = {}
        with torch.no_grad(), self._autocast():
            for rows in self._chunks(crops.shape[0]):
                for key, value in step(rows).items():
                    pieces.setdefault(key, []).append(value.detach().cpu().numpy())
        if not pieces:
            raise ValueError(f"{self.name}: empty crop batch")
        return {key: np.concatenate(parts, axis=0) for key, parts in pieces.items()}

    def _record(
        self, params: BodyParams | FaceParams | HandParams, out: dict[str, np.ndarray]
    ) -> ExpertRecord:
        return ExpertRecord(
            part=self.part,
            expert=self.name,
            params=params,
            camera=out["cam"].astype(np.float32),
            feature=out["feature"].astype(np.float16),
            checkpoint_sha256=self.checkpoint_sha256,
            head_feature=out["head_feature"].astype(np.float16),
        )


class SpinExpert(NetworkExpert):
    """SPIN body expert: 224 x 224 RGB body crops -> SMPL rotations, betas, camera."""

    name = "spin"
    part = Part.BODY
    model: SpinHMR

    def __call__(self, crops: np.ndarray) -> ExpertRecord:
        """crops: (B, 224, 224, 3) uint8 RGB -> body :class:`ExpertRecord`."""

        def step(rows: slice) -> dict[str, torch.Tensor]:
            out = self.model(spin_tensor(crops[rows], self.device))
            return {
                "rotmats": out.rotmats,
                "betas": out.betas,
                "cam": out.cam,
                "feature": out.feature.half(),
                "head_feature": out.head_feature.half(),
            }

        out = self._run(crops, step)
        params = BodyParams(
            rotmats=out["rotmats"].astype(np.float32), betas=out["betas"].astype(np.float32)
        )
        return self._record(params, out)


class DecaExpert(NetworkExpert):
    """DECA face expert: 224 x 224 RGB face crops -> FLAME shape/exp/pose, tex, light, camera."""

    name = "deca"
    part = Part.FACE
    crop_dtypes = (np.uint8, np.float32)  # float32 in [0, 1]: DECA's float warp
    model: DecaFlameEncoder

    def __call__(self, crops: np.ndarray) -> ExpertRecord:
        """crops: (B, 224, 224, 3) float32 RGB in [0, 1] (or uint8) -> face ExpertRecord."""

        def step(rows: slice) -> dict[str, torch.Tensor]:
            code, feature, head = self.model.encode(deca_tensor(crops[rows], self.device))
            parts = decompose_code(code.float())
            return {**parts._asdict(), "feature": feature.half(), "head_feature": head.half()}

        out = self._run(crops, step)
        params = FaceParams(
            shape=out["shape"].astype(np.float32),
            expression=out["exp"].astype(np.float32),
            pose=out["pose"].astype(np.float32),
            tex=out["tex"].astype(np.float32),
            light=out["light"].astype(np.float32),
        )
        return self._record(params, out)


class FrankMocapExpert(NetworkExpert):
    """FrankMocap hand expert: 224 x 224 RGB hand crops (left and right) -> MANO pose/shape."""

    name = "frankmocap"
    part = Part.RIGHT_HAND
    model: FrankMocapHandEncoder

    def __call__(self, crops: np.ndarray, is_left: np.ndarray) -> ExpertRecord:
        """crops: (B, 224, 224, 3) uint8 RGB; is_left: (B,) bool -> hand :class:`ExpertRecord`.

        Left crops are mirrored before the network and the predictions mirrored back
        (pose y/z components and camera tx negated), as FrankMocap's ``HandMocap.regress``.
        """
        crops = check_crops(crops)
        is_left = np.asarray(is_left, dtype=bool).reshape(-1)
        if is_left.shape[0] != crops.shape[0]:
            raise ValueError(f"is_left has {is_left.shape[0]} entries for {crops.shape[0]} crops")

        def step(rows: slice) -> dict[str, torch.Tensor]:
            out = self.model(frankmocap_tensor(crops[rows], is_left[rows], self.device))
            left = torch.from_numpy(is_left[rows]).to(self.device)
            pose, cam = unflip_left_hand(out.pose, out.cam, left)
            return {
                "pose": pose,
                "shape": out.shape,
                "cam": cam,
                "feature": out.feature.half(),
                "head_feature": out.head_feature.half(),
            }

        out = self._run(crops, step)
        params = HandParams(
            pose=out["pose"].astype(np.float32),
            shape=out["shape"].astype(np.float32),
            is_left=is_left.copy(),
        )
        record = self._record(params, out)
        return replace(record, part=Part.LEFT_HAND) if is_left[0] else record

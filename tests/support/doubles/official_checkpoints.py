"""Test doubles: random-weight expert files written the way the official code writes them.

Each state dict is the ``state_dict()`` of the project's own module (``SpinHMR``,
``DecaFlameEncoder``, ``FrankMocapHandEncoder``; DECA's detail networks from
:mod:`.deca_detail_modules`) after a strict load of the independent key tables of
:mod:`.official_key_tables`, so it carries the ``_metadata`` version table ``torch.save``
pickles, exactly as the released files do:

- SPIN ``utils/saver.py``: ``torch.save({'model': HMR.state_dict(), 'optimizer':
  Adam.state_dict(), 'epoch', 'batch_idx', 'batch_size', 'dataset_perm' (a list:
  ``torch.randperm(n).tolist()``), 'total_step_count'})``; PyTorch 1.1 era
  (``requirements.txt``), so the legacy (non-zip) format by default. ``demo.py`` loads
  ``checkpoint['model']`` with ``strict=False``. ``smpl_mean_params.npz`` via ``np.savez``:
  ``pose`` (144,) float32, ``shape`` (10,) float64 (hence SPIN's ``astype('float32')``),
  ``cam`` (3,) float32.
- DECA ``decalib/trainer.py``: ``torch.save(model_dict)`` with ``DECA.model_dict()``
  (``E_flame``, ``E_detail``, ``D_detail`` state dicts) plus ``opt`` (Adam over the detail
  networks), ``global_step``, ``batch_size``; PyTorch >= 1.6 (README), zip format by
  default; ``DECA.__init__`` copies ``checkpoint['E_flame']`` etc. with ``util.copy_state_dict``.
- FrankMocap: the repository has no trainer; ``H3DWModel`` loads ``pose_shape_best.pth`` with
  ``self.encoder.load_state_dict(torch.load(path))`` (strict, no ``module.`` prefix), so the
  file is the bare ``H3DWEncoder`` state dict; PyTorch 1.x, legacy format by default.
  ``mean_mano_params.pkl`` = ``pickle.dump({'mean_pose': ndarray(48,)})``;
  ``SMPLX_HAND_INFO.pkl`` = pickled dict of numpy arrays.

Optimizer states are real ``Adam.state_dict()`` of the running torch, with moments for the
last few parameters only (keeps files small; the loader never reads them). Older torch
versions' forms (int ``step``, ``id(p)`` parameter ids, old containers) are written by
:mod:`.old_torch_writers`. Weights are small seeded random values.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from furpe_label.experts.networks.deca import DecaFlameEncoder
from furpe_label.experts.networks.frankmocap import HAND_PARAM_DIM, FrankMocapHandEncoder
from furpe_label.experts.networks.spin import SmplMeanParams, SpinHMR
from tests.support.doubles.deca_detail_modules import DecaDetailGeneratorDouble, deca_detail_encoder
from tests.support.doubles.official_key_tables import (
    Entry,
    deca_detail_decoder_entries,
    deca_encoder_entries,
    frankmocap_entries,
    random_state_dict,
    spin_model_entries,
)

#: writes one object to one path (``torch.save``, or an era double of it)
Saver = Callable[[object, Path], None]


def module_state(
    module: nn.Module,
    entries: list[Entry],
    seed: int,
    overrides: dict[str, torch.Tensor] | None = None,
) -> OrderedDict:
    """``module.state_dict()`` after loading seeded random values for ``entries`` strictly.

    The strict load fails when the key table (written from the official code) and the
    project's module disagree. The result is what ``state_dict()`` returns: an OrderedDict of
    detached tensors carrying the ``_metadata`` version table that ``torch.save`` pickles.
    ``overrides`` (name -> tensor) replace random values (SPIN's mean-parameter buffers).
    """
    values = random_state_dict(entries, seed)
    values.update(overrides or {})
    module.load_state_dict(values, strict=True)
    return module.state_dict()


def trained_adam_state(params: list[torch.Tensor], lr: float, with_moments: int = 3) -> dict:
    """``torch.optim.Adam(params, lr).state_dict()`` after one step that moved only the last
    ``with_moments`` parameters' moments (zero gradients, so no weight changes; keeps files
    small). Written by the running torch, so its era's form (tensor ``step``, current keys)."""
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=0)
    for param in params[-with_moments:]:
        param.grad = torch.zeros_like(param)
    optimizer.step()
    for param in params:
        param.grad = None
    return optimizer.state_dict()


def torch_save(legacy_format: bool) -> Saver:
    """``torch.save`` in the zip format (PyTorch >= 1.6) or the legacy one (what < 1.6 wrote)."""
    return lambda obj, path: torch.save(obj, path, _use_new_zipfile_serialization=not legacy_format)


def _rot6d(matrix: np.ndarray) -> np.ndarray:
    """SPIN 6D of (..., 3, 3) matrices: first two columns, row by row."""
    return matrix[..., :, :2].reshape(*matrix.shape[:-2], 6)


def spin_mean_params(seed: int) -> dict[str, np.ndarray]:
    """SPIN's ``smpl_mean_params.npz`` content: ``pose`` (144,) float32 6D rotations near
    identity (root: pi about x), ``shape`` (10,) float64, ``cam`` (3,) float32."""
    rng = np.random.default_rng(seed)
    rotations = np.tile(np.eye(3), (24, 1, 1))
    rotations[0] = np.diag([1.0, -1.0, -1.0])  # SPIN's mean global orient: pi about x
    pose6d = (_rot6d(rotations) + 0.05 * rng.standard_normal((24, 6))).reshape(-1)
    return {
        "pose": pose6d.astype(np.float32),
        "shape": 0.1 * rng.standard_normal(10),
        "cam": np.array([0.9, 0.0, 0.0], dtype=np.float32),
    }


def spin_model(seed: int) -> SpinHMR:
    """The project's ``SpinHMR`` holding the fixture's weights (buffers = the mean values)."""
    mean = spin_mean_params(seed)
    model = SpinHMR(SmplMeanParams(*(mean[k].astype(np.float32) for k in ("pose", "shape", "cam"))))
    buffers = {f"init_{k}": torch.from_numpy(v.astype(np.float32))[None] for k, v in mean.items()}
    module_state(model, spin_model_entries(), seed, buffers)
    return model


def spin_training_checkpoint(seed: int) -> dict:
    """What SPIN's ``CheckpointSaver.save_checkpoint`` hands to ``torch.save``."""
    model = spin_model(seed)
    return {
        "model": model.state_dict(),
        "optimizer": trained_adam_state(list(model.parameters()), lr=5e-5),
        "epoch": 10,
        "batch_idx": 0,
        "batch_size": 64,
        "dataset_perm": torch.randperm(100, generator=_generator(seed)).tolist(),
        "total_step_count": 300000,
    }


def write_spin_files(
    spin_dir: Path, seed: int = 0, legacy_format: bool = True, save: Saver | None = None
) -> tuple[Path, Path]:
    """Write ``model_checkpoint.pt`` (legacy format by default: PyTorch 1.1 wrote it) and
    ``smpl_mean_params.npz``; ``save`` replaces ``torch.save``. Returns both paths."""
    spin_dir = Path(spin_dir)
    spin_dir.mkdir(parents=True, exist_ok=True)
    mean_path = spin_dir / "smpl_mean_params.npz"
    np.savez(mean_path, **spin_mean_params(seed))
    ckpt_path = spin_dir / "model_checkpoint.pt"
    (save or torch_save(legacy_format))(spin_training_checkpoint(seed), ckpt_path)
    return ckpt_path, mean_path


def deca_model_dict(seed: int) -> dict:
    """What DECA's trainer hands to ``torch.save``: ``DECA.model_dict()`` (three state
    dicts) plus ``opt`` (Adam over ``E_detail`` + ``D_detail``, detail training),
    ``global_step`` and ``batch_size``."""
    e_flame = DecaFlameEncoder()
    e_detail, d_detail = deca_detail_encoder(), DecaDetailGeneratorDouble()
    module_state(e_flame, deca_encoder_entries(236), seed)
    module_state(e_detail, deca_encoder_entries(128), seed + 1)
    module_state(d_detail, deca_detail_decoder_entries(), seed + 2)
    detail_params = [*e_detail.parameters(), *d_detail.parameters()]
    return {
        "E_flame": e_flame.state_dict(),
        "E_detail": e_detail.state_dict(),
        "D_detail": d_detail.state_dict(),
        "opt": trained_adam_state(detail_params, lr=5e-5),
        "global_step": 150000,
        "batch_size": 2,
    }


def write_deca_file(
    deca_dir: Path, seed: int = 0, legacy_format: bool = False, save: Saver | None = None
) -> Path:
    """Write ``deca_model.tar`` (zip format by default: DECA needs PyTorch >= 1.6)."""
    deca_dir = Path(deca_dir)
    deca_dir.mkdir(parents=True, exist_ok=True)
    path = deca_dir / "deca_model.tar"
    (save or torch_save(legacy_format))(deca_model_dict(seed), path)
    return path


def mean_mano_pose(seed: int = 0) -> np.ndarray:
    """A plausible (48,) float64 mean MANO pose (global 3 + 15 finger joints x 3)."""
    return 0.2 * np.random.default_rng(seed).standard_normal(48)


def frankmocap_state(seed: int) -> OrderedDict:
    """``H3DWEncoder.state_dict()`` (the project's ``FrankMocapHandEncoder``), random weights."""
    encoder = FrankMocapHandEncoder(np.zeros(HAND_PARAM_DIM, np.float32))
    return module_state(encoder, frankmocap_entries(), seed)


def write_frankmocap_files(
    frank_dir: Path,
    seed: int = 0,
    hand_info: bool = True,
    legacy_format: bool = True,
    save: Saver | None = None,
) -> Path:
    """Write ``pose_shape_best.pth`` (a bare state dict; legacy format by default, PyTorch
    1.x), ``mean_mano_params.pkl`` (+ ``SMPLX_HAND_INFO.pkl``). Returns the checkpoint path."""
    frank_dir = Path(frank_dir)
    frank_dir.mkdir(parents=True, exist_ok=True)
    path = frank_dir / "pose_shape_best.pth"
    (save or torch_save(legacy_format))(frankmocap_state(seed), path)
    with open(frank_dir / "mean_mano_params.pkl", "wb") as handle:
        pickle.dump({"mean_pose": mean_mano_pose(seed)}, handle)
    if hand_info:
        rng = np.random.default_rng(seed)
        faces = rng.integers(0, 778, size=(1538, 3))
        info = {
            "right_hand_faces_holistic": rng.integers(0, 10475, size=(1538, 3)),
            "right_hand_faces_local": faces,
            "right_hand_verts_idx": np.sort(rng.choice(10475, 778, replace=False)),
            "left_hand_verts_idx": np.sort(rng.choice(10475, 778, replace=False)),
        }
        with open(frank_dir / "SMPLX_HAND_INFO.pkl", "wb") as handle:
            pickle.dump(info, handle)
    return path


def write_experts_folder(
    experts_dir: Path, seed: int = 0, legacy_format: bool | None = None
) -> Path:
    """The whole experts folder layout (spin/, deca/, frankmocap/); returns ``experts_dir``.

    ``legacy_format`` None writes each file in its producer's default format (SPIN and
    FrankMocap legacy, DECA zip); True / False writes all three in that format.
    """
    experts_dir = Path(experts_dir)
    spin, deca, frank = (True, False, True) if legacy_format is None else (legacy_format,) * 3
    write_spin_files(experts_dir / "spin", seed, legacy_format=spin)
    write_deca_file(experts_dir / "deca", seed, legacy_format=deca)
    write_frankmocap_files(experts_dir / "frankmocap", seed, legacy_format=frank)
    return experts_dir


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)

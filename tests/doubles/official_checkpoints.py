"""Test doubles: random-weight expert files written the way the official code writes them.

The key tables below are written from the official sources independently of
``experts/networks`` (so a wrong name there makes the tests fail):

- SPIN ``utils/saver.py``: ``torch.save({'model': HMR.state_dict(), 'optimizer':
  Adam.state_dict(), 'epoch', 'batch_idx', 'batch_size', 'dataset_perm' (list of ints),
  'total_step_count'})``; PyTorch 1.1 era, so the legacy (non-zip) format by default.
  ``smpl_mean_params.npz`` via ``np.savez``: ``pose`` (144,) float32, ``shape`` (10,) float64
  (hence SPIN's ``astype('float32')``), ``cam`` (3,) float32.
- DECA ``trainer.py``: ``torch.save(model_dict)`` with ``E_flame``, ``E_detail``, ``D_detail``
  state dicts plus ``opt``, ``global_step``, ``batch_size``; named ``deca_model.tar``.
- FrankMocap ``base_model.save_network``: ``torch.save`` of the bare (DataParallel-unwrapped,
  CPU) ``H3DWEncoder`` state dict; ``mean_mano_params.pkl`` = ``pickle.dump({'mean_pose':
  ndarray(48,)})``; ``SMPLX_HAND_INFO.pkl`` = pickled dict of numpy arrays.

Optimizer states hold the moments of the last few parameters only (keeps files small; the
loader never reads them). Weights are small seeded random values.
"""

from __future__ import annotations

import math
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

Entry = tuple[str, tuple[int, ...]]

# torchvision ResNet-50: (planes, blocks) per stage, expansion 4, stride on the 3x3 conv.
_STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))
_BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(name: str, channels: int) -> list[Entry]:
    return [
        (f"{name}.{key}", () if key == "num_batches_tracked" else (channels,)) for key in _BN_KEYS
    ]


def _linear(name: str, fan_in: int, fan_out: int) -> list[Entry]:
    return [(f"{name}.weight", (fan_out, fan_in)), (f"{name}.bias", (fan_out,))]


def resnet50_entries(prefix: str = "") -> list[Entry]:
    """torchvision ResNet-50 state-dict entries without ``fc`` (name, shape), in order."""
    out: list[Entry] = [(f"{prefix}conv1.weight", (64, 3, 7, 7)), *_bn(f"{prefix}bn1", 64)]
    inplanes = 64
    for stage, (planes, blocks) in enumerate(_STAGES, start=1):
        for block in range(blocks):
            p = f"{prefix}layer{stage}.{block}."
            out += [(p + "conv1.weight", (planes, inplanes, 1, 1)), *_bn(p + "bn1", planes)]
            out += [(p + "conv2.weight", (planes, planes, 3, 3)), *_bn(p + "bn2", planes)]
            out += [(p + "conv3.weight", (planes * 4, planes, 1, 1)), *_bn(p + "bn3", planes * 4)]
            if block == 0:
                out += [
                    (p + "downsample.0.weight", (planes * 4, inplanes, 1, 1)),
                    *_bn(p + "downsample.1", planes * 4),
                ]
            inplanes = planes * 4
    return out


def spin_model_entries() -> list[Entry]:
    """SPIN ``HMR`` state dict (root buffers first, as ``state_dict()`` orders them)."""
    head = [("init_pose", (1, 144)), ("init_shape", (1, 10)), ("init_cam", (1, 3))]
    tail = _linear("fc1", 2048 + 144 + 13, 1024) + _linear("fc2", 1024, 1024)
    tail += _linear("decpose", 1024, 144) + _linear("decshape", 1024, 10)
    tail += _linear("deccam", 1024, 3)
    return head + resnet50_entries() + tail


def deca_encoder_entries(outsize: int) -> list[Entry]:
    """DECA ``ResnetEncoder(outsize)``: ``encoder.*`` + ``layers.0`` / ``layers.2``."""
    return (
        resnet50_entries("encoder.")
        + _linear("layers.0", 2048, 1024)
        + _linear("layers.2", 1024, outsize)
    )


def deca_detail_decoder_entries(latent_dim: int = 128 + 50 + 3) -> list[Entry]:
    """DECA ``Generator`` (``D_detail``): ``l1.0`` then ``conv_blocks`` convs / BatchNorms."""
    out = _linear("l1.0", latent_dim, 128 * 8 * 8) + _bn("conv_blocks.0", 128)
    convs = ((2, 128, 128), (6, 128, 64), (10, 64, 64), (14, 64, 32), (18, 32, 16))
    for index, cin, cout in convs:
        out += [
            (f"conv_blocks.{index}.weight", (cout, cin, 3, 3)),
            (f"conv_blocks.{index}.bias", (cout,)),
            *_bn(f"conv_blocks.{index + 1}", cout),
        ]
    return [*out, ("conv_blocks.21.weight", (1, 16, 3, 3)), ("conv_blocks.21.bias", (1,))]


def frankmocap_entries() -> list[Entry]:
    """FrankMocap ``H3DWEncoder`` state dict (no prefix, no mean params)."""
    out = _linear("feat_encoder.1", 1024, 1024) + _linear("regressor.0", 1024 + 61, 61)
    return out + resnet50_entries("main_encoder.") + _linear("main_encoder.fc1", 2048, 1024)


def _value(
    name: str, shape: tuple[int, ...], gen: torch.Generator, head_std: float
) -> torch.Tensor:
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(1000, dtype=torch.long)
    if leaf in ("running_mean", "bias"):
        return 0.01 * torch.randn(shape, generator=gen)
    if leaf == "running_var":
        return 1.0 + 0.1 * torch.rand(shape, generator=gen)
    if len(shape) == 1:  # BatchNorm weight; damp residual branches so depth stays stable
        scale = 0.2 if (".bn3" in name or name.endswith("downsample.1.weight")) else 1.0
        return scale * (1.0 + 0.05 * torch.randn(shape, generator=gen))
    if len(shape) == 4:  # He init, as the official constructors
        return torch.randn(shape, generator=gen) * math.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
    std = head_std if name.startswith(("dec", "regressor", "layers.2")) else shape[1] ** -0.5
    return std * torch.randn(shape, generator=gen)


def random_state_dict(entries: list[Entry], seed: int, head_std: float = 1e-2) -> OrderedDict:
    """Seeded random tensors for ``entries`` (an OrderedDict, as ``state_dict()`` returns)."""
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((name, _value(name, shape, gen, head_std)) for name, shape in entries)


def _adam_state(state: OrderedDict, n_params: int, with_moments: int = 3) -> dict:
    """An ``Adam.state_dict()`` over ``n_params`` parameters, moments for the last few."""
    tensors = [v for k, v in state.items() if v.is_floating_point() and "running" not in k]
    moments = {
        index: {
            "step": torch.tensor(1000.0),
            "exp_avg": torch.zeros_like(t),
            "exp_avg_sq": torch.zeros_like(t),
        }
        for index, t in zip(
            range(n_params - with_moments, n_params), tensors[-with_moments:], strict=True
        )
    }
    group = {
        "lr": 5e-5,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0,
        "amsgrad": False,
        "params": list(range(n_params)),
    }
    return {"state": moments, "param_groups": [group]}


def _rot6d(matrix: np.ndarray) -> np.ndarray:
    """SPIN 6D of (..., 3, 3) matrices: first two columns, row by row."""
    return matrix[..., :, :2].reshape(*matrix.shape[:-2], 6)


def write_spin_files(
    spin_dir: Path, seed: int = 0, legacy_format: bool = True
) -> tuple[Path, Path]:
    """Write ``model_checkpoint.pt`` and ``smpl_mean_params.npz``; returns their paths."""
    spin_dir = Path(spin_dir)
    spin_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rotations = np.tile(np.eye(3), (24, 1, 1))
    rotations[0] = np.diag([1.0, -1.0, -1.0])  # SPIN's mean global orient: pi about x
    pose6d = (_rot6d(rotations) + 0.05 * rng.standard_normal((24, 6))).reshape(-1)
    mean = {
        "pose": pose6d.astype(np.float32),
        "shape": 0.1 * rng.standard_normal(10),
        "cam": np.array([0.9, 0.0, 0.0], dtype=np.float32),
    }
    mean_path = spin_dir / "smpl_mean_params.npz"
    np.savez(mean_path, **mean)
    state = random_state_dict(spin_model_entries(), seed)
    for key, value in mean.items():  # the buffers keep the constructor's mean values
        state[f"init_{key}"] = torch.from_numpy(value.astype(np.float32))[None]
    n_params = sum(
        1
        for k in state
        if not k.startswith("init_") and "running" not in k and "num_batches" not in k
    )
    checkpoint = {
        "model": state,
        "optimizer": _adam_state(state, n_params),
        "epoch": 10,
        "batch_idx": 0,
        "batch_size": 64,
        "dataset_perm": [int(i) for i in rng.permutation(100)],
        "total_step_count": 300000,
    }
    ckpt_path = spin_dir / "model_checkpoint.pt"
    torch.save(checkpoint, ckpt_path, _use_new_zipfile_serialization=not legacy_format)
    return ckpt_path, mean_path


def write_deca_file(deca_dir: Path, seed: int = 0) -> Path:
    """Write ``deca_model.tar`` (all three sub-module state dicts + training extras)."""
    deca_dir = Path(deca_dir)
    deca_dir.mkdir(parents=True, exist_ok=True)
    e_detail = random_state_dict(deca_encoder_entries(128), seed + 1)
    d_detail = random_state_dict(deca_detail_decoder_entries(), seed + 2)
    n_params = sum(1 for k in [*e_detail, *d_detail] if "running" not in k and "num_b" not in k)
    model_dict = {
        "E_flame": random_state_dict(deca_encoder_entries(236), seed),
        "E_detail": e_detail,
        "D_detail": d_detail,
        "opt": _adam_state(d_detail, n_params),
        "global_step": 150000,
        "batch_size": 2,
    }
    path = deca_dir / "deca_model.tar"
    torch.save(model_dict, path)
    return path


def mean_mano_pose(seed: int = 0) -> np.ndarray:
    """A plausible (48,) float64 mean MANO pose (global 3 + 15 finger joints x 3)."""
    return 0.2 * np.random.default_rng(seed).standard_normal(48)


def write_frankmocap_files(frank_dir: Path, seed: int = 0, hand_info: bool = True) -> Path:
    """Write ``pose_shape_best.pth``, ``mean_mano_params.pkl`` (+ ``SMPLX_HAND_INFO.pkl``).

    Returns the checkpoint path.
    """
    frank_dir = Path(frank_dir)
    frank_dir.mkdir(parents=True, exist_ok=True)
    path = frank_dir / "pose_shape_best.pth"
    torch.save(random_state_dict(frankmocap_entries(), seed), path)
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


def write_experts_folder(experts_dir: Path, seed: int = 0) -> Path:
    """The whole experts folder layout (spin/, deca/, frankmocap/); returns ``experts_dir``."""
    experts_dir = Path(experts_dir)
    write_spin_files(experts_dir / "spin", seed)
    write_deca_file(experts_dir / "deca", seed)
    write_frankmocap_files(experts_dir / "frankmocap", seed)
    return experts_dir

"""Cost of the safe loader against the unchecked loaders it replaces, in the same run.

Run: ``pytest tests/benchmarks/bench_safe_load.py -m benchmark -s``.

* SMPL pickle (40 MB, synthetic family): ``safe_pickle_load`` (pure-Python restricted
  unpickler + dtype/array/sparse checks + plain-data walk) vs. a baseline of
  ``pickle.load(f, encoding='latin1')`` (the C unpickler, no checks, not safe).
* SPIN-format checkpoint (legacy format, ResNet-50 + regressor, test double) and FrankMocap's
  zip checkpoint: ``read_checkpoint`` vs. a baseline of ``torch.load(weights_only=True)``.

Each timing is the median of 5 runs after one warm-up; the ratio new / baseline is printed.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from furpe_label.experts.safe_load import read_checkpoint, safe_pickle_load
from tests.benchmarks.timing import median_seconds
from tests.support.doubles.official_checkpoints import write_experts_folder


def _report(name: str, new: Callable[[], object], baseline: Callable[[], object]) -> float:
    ours, theirs = median_seconds(new, 5), median_seconds(baseline, 5)
    print(
        f"\n{name}: safe {ours * 1e3:.0f} ms, baseline {theirs * 1e3:.0f} ms, "
        f"ratio {ours / theirs:.2f}"
    )
    return ours / theirs


@pytest.mark.benchmark
def test_bench_safe_pickle_vs_c_unpickler(synthetic_models_dir):
    path = synthetic_models_dir / "smpl" / "SMPL_NEUTRAL.pkl"

    def unchecked() -> object:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="latin1")

    _report("SMPL_NEUTRAL.pkl", lambda: safe_pickle_load(path), unchecked)


@pytest.mark.benchmark
def test_bench_read_checkpoint_vs_torch_load(tmp_path):
    root: Path = write_experts_folder(tmp_path / "experts", seed=0)
    for relpath in ("spin/model_checkpoint.pt", "frankmocap/pose_shape_best.pth"):
        path = root / relpath
        _report(
            relpath,
            lambda path=path: read_checkpoint(path),
            lambda path=path: torch.load(path, map_location="cpu", weights_only=True),
        )

"""Network part experts: crops/s of the full runner vs the bare ResNet-50 forward (same run).

Run: ``pytest tests/benchmarks/bench_experts.py -m benchmark -s``.

For each expert (SPIN, DECA, FrankMocap with half the crops left hands), the runner does
preprocess (uint8 -> official normalisation) + forward (trunk + heads / iterations) +
postprocess (6D -> matrices, code split, left-hand un-flip, numpy records). The baseline is the
expert's own ResNet-50 trunk on an already-normalised float batch of the same size, so the
ratio is the overhead the expert adds on top of the unavoidable convolution work. Target on
the CPU: overhead <= 15 %. Batch 16 on the CPU (64 on CUDA).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from furpe_label.experts.networks.layout import resolve_device
from furpe_label.experts.networks.loading import load_deca, load_frankmocap, load_spin
from tests.doubles.official_checkpoints import write_experts_folder

TARGET_OVERHEAD = 0.15


def _rate(fn: Callable[[], object], n_crops: int, repeats: int) -> float:
    """Crops per second of ``fn`` (which processes ``n_crops``), best of ``repeats``."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return n_crops / best


@pytest.mark.benchmark
def test_bench_network_experts(tmp_path):
    device = resolve_device(None)
    batch = 64 if device.type == "cuda" else 16
    root = write_experts_folder(tmp_path / "experts", seed=0)
    crops = np.random.default_rng(0).integers(0, 256, (batch, 224, 224, 3), dtype=np.uint8)
    is_left = np.arange(batch) % 2 == 1
    normalised = torch.randn(batch, 3, 224, 224, device=device)

    experts = {
        "spin": (load_spin(root, device, batch_size=batch), lambda e: e(crops),
                 lambda e: e.model.pooled_features),
        "deca": (load_deca(root, device, batch_size=batch), lambda e: e(crops),
                 lambda e: e.model.encoder.pooled_features),
        "frankmocap": (load_frankmocap(root, device, batch_size=batch),
                       lambda e: e(crops, is_left),
                       lambda e: e.model.main_encoder.pooled_features),
    }
    lines = [f"device={device} batch={batch} threads={torch.get_num_threads()}"]
    overheads = {}
    for name, (expert, run, trunk_of) in experts.items():
        trunk = trunk_of(expert)

        def bare(trunk=trunk) -> None:
            with torch.no_grad():
                trunk(normalised)

        base = _rate(bare, batch, repeats=3)
        full = _rate(lambda expert=expert, run=run: run(expert), batch, repeats=3)
        overheads[name] = base / full - 1.0
        lines.append(
            f"{name:<11} runner {full:7.1f} crops/s   bare ResNet-50 {base:7.1f} crops/s   "
            f"overhead {100 * overheads[name]:+.1f} % (target <= {100 * TARGET_OVERHEAD:.0f} %)"
        )
    print("\n" + "\n".join(lines))  # benchmark report (run with -s)
    assert all(np.isfinite(v) for v in overheads.values())

"""Network part experts: crops/s of the full runner vs the bare ResNet-50 forward (same run).

Run: ``pytest tests/benchmarks/bench_experts.py -m benchmark -s``.

For each expert (SPIN, DECA, FrankMocap with half the crops left hands), the runner does
preprocess (uint8 -> official normalisation) + forward (trunk + heads / iterations) +
postprocess (6D -> matrices, code split, left-hand un-flip, numpy records). The baseline is the
expert's own ResNet-50 trunk on the same crops already normalised (same weights, same data), so the
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
from furpe_label.experts.networks.preprocess import deca_input, frankmocap_input, spin_input
from tests.doubles.official_checkpoints import write_experts_folder

TARGET_OVERHEAD = 0.15


def _interleaved_rates(
    fns: dict[str, Callable[[], object]], n_crops: int, repeats: int
) -> dict[str, float]:
    """Crops/s of each ``fn`` (each processes ``n_crops``), best of ``repeats``, timed in turn.

    Alternating the candidates spreads the noise of a shared machine over all of them.
    """
    for fn in fns.values():
        fn()  # warm-up
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n_crops / seconds for name, seconds in best.items()}


@pytest.mark.benchmark
def test_bench_network_experts(tmp_path):
    device = resolve_device(None)
    batch = 64 if device.type == "cuda" else 16
    root = write_experts_folder(tmp_path / "experts", seed=0)
    crops = np.random.default_rng(0).integers(0, 256, (batch, 224, 224, 3), dtype=np.uint8)
    is_left = np.arange(batch) % 2 == 1

    experts = {
        "spin": (
            load_spin(root, device, batch_size=batch),
            lambda e: e(crops),
            lambda e: e.model.pooled_features,
            spin_input,
        ),
        "deca": (
            load_deca(root, device, batch_size=batch),
            lambda e: e(crops),
            lambda e: e.model.encoder.pooled_features,
            deca_input,
        ),
        "frankmocap": (
            load_frankmocap(root, device, batch_size=batch),
            lambda e: e(crops, is_left),
            lambda e: e.model.main_encoder.pooled_features,
            lambda c, d: frankmocap_input(c, is_left, d),
        ),
    }
    lines = [f"device={device} batch={batch} threads={torch.get_num_threads()}"]
    overheads = {}
    for name, (expert, run, trunk_of, prepare) in experts.items():
        trunk, normalised = trunk_of(expert), prepare(crops, device)

        def bare(trunk=trunk, normalised=normalised) -> None:
            with torch.no_grad():
                trunk(normalised)

        rates = _interleaved_rates(
            {"bare": bare, "full": lambda expert=expert, run=run: run(expert)}, batch, repeats=4
        )
        overheads[name] = rates["bare"] / rates["full"] - 1.0
        lines.append(
            f"{name:<11} runner {rates['full']:7.1f} crops/s   bare ResNet-50 "
            f"{rates['bare']:7.1f} crops/s   overhead {100 * overheads[name]:+.1f} % "
            f"(target <= {100 * TARGET_OVERHEAD:.0f} %)"
        )
    print("\n" + "\n".join(lines))  # benchmark report (run with -s)
    assert all(np.isfinite(v) for v in overheads.values())

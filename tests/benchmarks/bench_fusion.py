"""Benchmark: fusion throughput (samples/s) on the CPU, batched vs one instance at a time.

Baseline: the same ``fuse_parts`` called once per person instance, the way the public
integration code runs (FrankMocap's ``integration_copy_paste`` loops over people; PyMAF-X
filters rows in Python lists). Both use the synthetic SMPL-X rig and the same simulated expert
outputs (4 096 instances; the baseline runs on the first 256 and is reported per sample), in
the same process, after a warm-up; medians of repeats are reported with the speed-up ratio, at
torch's default thread count and at one thread.

    pytest tests/benchmarks -m benchmark -s -k fusion
"""

from __future__ import annotations

import pytest
import torch

from furpe_label.experts.fusion.config import FusionConfig
from furpe_label.experts.fusion.fuse import fuse_parts
from tests.benchmarks.timing import median_seconds
from tests.support.doubles.simulated_part_outputs import SimulatedParts, simulated_part_outputs
from tests.support.fusion_support import load_fusion_models

BATCH = 4096
BASELINE_ROWS = 256
REPEATS = 5


def _row(parts: SimulatedParts, i: int) -> SimulatedParts:
    return SimulatedParts(**{k: v[i : i + 1] for k, v in parts.__dict__.items()})


@pytest.mark.benchmark
@pytest.mark.parametrize("rule", ["furpe", "copy-paste", "adaptive"])
def test_fusion_throughput(synthetic_models_dir, tmp_path_factory, rule):
    rig = load_fusion_models(synthetic_models_dir, tmp_path_factory.mktemp("cache")).rig
    parts, betas = simulated_part_outputs(rig, BATCH, seed=0)
    config = FusionConfig(wrist=rule, head_from_face=True)
    outputs = parts.outputs
    rows = [(_row(parts, i).outputs, betas[i : i + 1]) for i in range(BASELINE_ROWS)]
    default_threads = torch.get_num_threads()
    lines = []
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        try:
            t_batch = median_seconds(lambda: fuse_parts(outputs, betas, rig, config), REPEATS)
            t_rows = median_seconds(
                lambda: [fuse_parts(p, b, rig, config) for p, b in rows], repeats=3
            )
        finally:
            torch.set_num_threads(default_threads)
        batched, per_row = BATCH / t_batch, BASELINE_ROWS / t_rows
        lines.append(
            f"  {threads} thread(s): batched {batched:,.0f} samples/s "
            f"({t_batch * 1e3:.0f} ms for {BATCH}), one at a time {per_row:,.0f} samples/s, "
            f"speed-up {batched / per_row:.0f}x"
        )
    print(f"\nfusion wrist={rule} head_from_face=True, CPU:\n" + "\n".join(lines))

"""Expert stage: crops/s of crop + preprocess + forward + postprocess vs the bare ResNet-50.

Run: ``pytest tests/benchmarks/bench_experts.py -m benchmark -s``.

For each expert alone (SPIN on bodies, DECA on faces, FrankMocap on left + right hands), the
stage is :func:`run_expert_stage` on real photos (skimage's astronaut, one person per
image with OpenPose-137 keypoints): crop plans by the expert's rule, crop quality, the warp
from the full image, the official normalisation, the network (trunk + heads / iterations) and
the post-processing into records scattered back to the N rows. The baseline, measured in the
same run and alternated with it, is the same expert's ResNet-50 trunk alone on the same number
of already-normalised crops in the same batch size. Target on the CPU: overhead <= 15 %.
Batch 16 on the CPU, 64 on CUDA (where fp16 autocast is also reported).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import skimage.data
import torch

from furpe_label.experts.networks.layout import resolve_device
from furpe_label.experts.networks.preprocess import deca_tensor, frankmocap_tensor, spin_tensor
from furpe_label.experts.part_experts import ExpertOptions, build_experts
from furpe_label.experts.part_stage import PersonBatch, run_expert_stage
from furpe_label.experts.vocabulary import Part, Reason
from tests.support.doubles.official_checkpoints import write_experts_folder

TARGET_OVERHEAD = 0.15


def _interleaved_seconds(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each ``fn`` over ``repeats`` rounds, timed in turn (shared machine)."""
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
    return best


def _person() -> np.ndarray:
    """(1, 137, 3) OpenPose-137 keypoints of the astronaut: body, face ring, both hands."""
    kps = np.zeros((1, 137, 3))
    body = {
        0: (226, 120),
        1: (210, 250),
        2: (120, 245),
        5: (305, 255),
        3: (70, 400),
        4: (140, 480),
        6: (330, 370),
        7: (340, 460),
        8: (210, 500),
    }
    for index, (x, y) in body.items():
        kps[0, index] = (x, y, 0.9)
    ring = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    kps[0, 67:135] = np.c_[228 + 45 * np.cos(ring), 125 + 60 * np.sin(ring), np.full(68, 0.9)]
    arc = np.linspace(0, np.pi, 21)
    for start, (cx, cy) in ((25, (340, 470)), (46, (150, 480))):
        kps[0, start : start + 21] = np.c_[
            cx + 25 * np.cos(arc), cy + 20 * np.sin(arc), np.full(21, 0.8)
        ]
    return kps


@pytest.mark.benchmark
def test_bench_expert_stage(tmp_path):
    device = resolve_device(None)
    batch = 64 if device.type == "cuda" else 16
    root = write_experts_folder(tmp_path / "experts", seed=0)
    options = ExpertOptions(experts_dir=root, device=device, batch_size=batch)
    loaded = {e.part: e for e in build_experts(["spin", "deca", "frankmocap"], options)}
    images = [skimage.data.astronaut()] * batch
    persons = PersonBatch(
        images,
        np.arange(batch),
        np.repeat(_person(), batch, 0).astype(np.float32),
        [Reason.OK] * batch,
    )
    rng = np.random.default_rng(0)
    hands = [loaded[Part.LEFT_HAND], loaded[Part.RIGHT_HAND]]
    cases = {
        "spin": (
            [loaded[Part.BODY]],
            batch,
            lambda c: spin_tensor(c, device),
            loaded[Part.BODY].runner.model.pooled_features,
        ),
        "deca": (
            [loaded[Part.FACE]],
            batch,
            lambda c: deca_tensor(c, device),
            loaded[Part.FACE].runner.model.encoder.pooled_features,
        ),
        "frankmocap": (
            hands,
            2 * batch,
            lambda c: frankmocap_tensor(c, np.arange(len(c)) % 2 == 1, device),
            hands[0].runner.model.main_encoder.pooled_features,
        ),
    }
    lines = [f"device={device} batch={batch} threads={torch.get_num_threads()}"]
    overheads = {}
    for name, (experts, n_crops, normalise, trunk) in cases.items():
        crops = rng.integers(0, 256, (n_crops, 224, 224, 3), dtype=np.uint8)
        normalised = normalise(crops)

        def bare(trunk=trunk, normalised=normalised) -> None:
            with torch.no_grad():
                for start in range(0, len(normalised), batch):
                    trunk(normalised[start : start + batch])

        def stage(experts=experts) -> None:
            out = run_expert_stage(persons, experts, chunk_size=batch)
            assert all(out.valid[:, e.part.column].all() for e in experts)

        seconds = _interleaved_seconds({"bare": bare, "stage": stage}, repeats=3)
        overheads[name] = seconds["stage"] / seconds["bare"] - 1.0
        lines.append(
            f"{name:<11} stage {n_crops / seconds['stage']:7.1f} crops/s   bare ResNet-50 "
            f"{n_crops / seconds['bare']:7.1f} crops/s   overhead {100 * overheads[name]:+.1f} % "
            f"(target <= {100 * TARGET_OVERHEAD:.0f} %)"
        )
    print("\n" + "\n".join(lines))  # benchmark report (run with -s)
    assert all(np.isfinite(v) for v in overheads.values())

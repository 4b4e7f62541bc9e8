"""Every library's threads capped per worker: BLAS / OpenMP through the environment a new
process starts with, torch and OpenCV in the process, and on every LocalCluster worker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from furpe_label.pipeline.worker_threads import THREAD_VARIABLES, thread_env

_PROBE = """
import cv2, torch
from furpe_label.pipeline.worker_threads import cap_threads
cap_threads(1)
print(torch.get_num_threads(), cv2.getNumThreads())
"""


def test_thread_env_names_every_blas_and_openmp_variable():
    assert thread_env(3) == dict.fromkeys(THREAD_VARIABLES, "3")
    assert {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"} <= set(THREAD_VARIABLES)


def test_cap_threads_caps_torch_and_opencv():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]


def _worker_threads() -> tuple[int, int, str | None]:
    import os

    import cv2
    import torch

    return torch.get_num_threads(), cv2.getNumThreads(), os.environ.get("OMP_NUM_THREADS")


@pytest.mark.slow
def test_local_cluster_workers_run_with_capped_threads():
    from furpe_label.pipeline.cluster import ClusterOptions, connected

    with connected(ClusterOptions(workers=2, threads_per_worker=1)) as client:
        found = client.run(_worker_threads)
    assert len(found) == 2
    assert set(found.values()) == {(1, 1, "1")}

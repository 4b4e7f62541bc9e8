"""Every library's threads capped per worker process, so N workers on N cores do not fight.

A worker process runs one task at a time per thread (``threads_per_worker``, default 1); each
library would otherwise start a thread per core of the machine in every worker:

* BLAS / OpenMP (numpy, scipy, torch's OpenMP): :func:`thread_env` gives the environment
  (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` ...) that a LocalCluster's
  nanny sets before the worker process starts (these libraries read it when they load).
* torch (intra- and inter-op pools) and OpenCV (its own pool): :func:`cap_threads`, run in
  every worker when it starts by the :class:`ThreadCaps` worker plugin (also on workers that
  join later or are restarted, and on SLURM / joined schedulers' workers).
* TFLite inside MediaPipe: the legacy ``mediapipe.solutions`` graphs run XNNPACK with one
  thread on Linux (MediaPipe's default outside Android / iOS); its API has no setting.
"""

from __future__ import annotations

import logging

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["THREAD_VARIABLES", "ThreadCaps", "cap_threads", "thread_env"]

logger = logging.getLogger(__name__)

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def thread_env(threads: int) -> dict[str, str]:
    """The environment that caps BLAS / OpenMP at ``threads`` threads in a new process."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def cap_threads(threads: int) -> None:
    """Cap torch's and OpenCV's thread pools in this process at ``threads``."""
    import cv2
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only possible before the first inter-op work; the default is kept
        logger.debug("torch inter-op threads already started")
    cv2.setNumThreads(threads)


class ThreadCaps(WorkerPlugin):
    """A Dask worker plugin (``client.register_plugin``): :func:`cap_threads` on every worker
    when it starts, and on the workers already there when registered."""

    name = "furpe-label-thread-caps"

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def setup(self, worker) -> None:
        cap_threads(self.threads)
        logger.debug("library threads capped at %d on %s", self.threads, worker.address)

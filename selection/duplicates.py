"""One candidate per person: candidates of one image whose keypoints agree (OKS) are one person.

A person finder can box the same person twice (two nearly identical boxes, a head-and-shoulders
box inside a body box); each box then gives a candidate whose keypoints describe that person.
After the keypoint stage, the candidates of one image (or video frame) are compared with the
**object keypoint similarity** of COCO's keypoint evaluation (as mmpose's ``oks_nms``)::

    OKS(a, b) = mean over keypoints confident in both of  exp(-d^2 / (2 s^2 k^2)),  k = 2 sigma

* ``d``: the pixel distance between the two candidates' keypoint;
* ``s^2``: the object's area, here the area (px^2) of the bounding box of the confident
  keypoints of *both* candidates (their union extent; at least 1 px^2). It depends on the
  keypoints only, not on how large the boxes were drawn (a whole-image box or a tight one);
* *confident*: step 1's rule (:func:`~furpe_label.selection.step1_keypoints.confident_mask`,
  body 0.1 / hands 0.2 / face 0.4); no keypoint confident in both gives OKS 0;
* ``sigma`` per OpenPose-137 keypoint: :data:`OPENPOSE137_SIGMAS`.

**Keep rule** (greedy, as ``oks_nms``): the candidates are ranked by step 1's count of
confident *body* keypoints (OpenPose body 25; more first: a whole body beats a
head-and-shoulders view of the same person even where the close view found more hand and face
points, as on ``basketball1.png``: 103 confident keypoints against the full box's 93), then by
the count of all confident keypoints, then by the mean confidence of those keypoints (higher
first), then by ``sample_idx`` (lower first: a total order, so ties are broken the same way in
every run). The best candidate is kept and every candidate whose OKS with it reaches the
threshold is its duplicate; the next candidate not yet marked is kept, and so on. A duplicate
never marks others (in a chain a ~ b ~ c where a and c differ, a and c are both kept).

**Determinism.** The decision reads only the keypoints of one image's candidates, in float64,
in ``sample_idx`` order, so the same keypoints give the same decision in any run, on any worker
count or shard plan (:mod:`furpe_label.pipeline.shard_inputs` hands a shard every row of the
images it touches). The comparison is ``OKS >= threshold - OKS_MARGIN``: an OKS that is the
threshold up to rounding (summation order of another numpy build, the decimal threshold's
binary value) counts as reaching it, the same way everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS
from furpe_label.selection.oks import OPENPOSE137_SIGMAS, pairwise_oks

__all__ = [
    "DEFAULT_DUPLICATE_OKS",
    "OKS_MARGIN",
    "OPENPOSE137_SIGMAS",
    "DuplicateConfig",
    "Duplicates",
    "duplicate_of",
    "find_duplicates",
    "pairwise_oks",
]

DEFAULT_DUPLICATE_OKS = 0.7
"""Two candidates with OKS >= 0.7 are one person. mmpose's top-down configs use 0.9 for their
near-identical detector boxes; a head-and-shoulders box is looser: with MediaPipe on the
shipped photos the same person boxed twice scored 0.99-1.0 (basketball1, a near-identical box
and a head-and-shoulders box) and 0.755 (messi5, a head box inside the body box), while two
different people scored <= 0.10 (astronaut's flag box vs the astronaut, basketball1's two
players: 0)."""

OKS_MARGIN = 1e-9
"""Tolerance of the threshold comparison (see the module docstring)."""


@dataclass(frozen=True)
class DuplicateConfig:
    """The keypoint stage's duplicate-person rule (a setting of the run, not a FuRPE step:
    a duplicate never reaches the experts, so a what-if cannot bring it back).

    Attributes:
        oks_threshold: two candidates of one image are one person when their OKS is >= this
            (in (0, 1]; 1 merges only identical keypoints).
    """

    oks_threshold: float = DEFAULT_DUPLICATE_OKS

    def __post_init__(self) -> None:
        value = self.oks_threshold
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and 0.0 < value <= 1.0):
            raise ValueError(f"oks_threshold must be in (0, 1], got {value!r}")


def duplicate_of(
    oks: np.ndarray,
    n_confident: Sequence[int] | np.ndarray,
    mean_confidence: Sequence[float] | np.ndarray,
    sample_idx: Sequence[int] | np.ndarray,
    config: DuplicateConfig,
    n_body_confident: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """The keep rule over P candidates of one image (see the module docstring).

    Args:
        oks: (P, P) from :func:`pairwise_oks`.
        n_confident: (P,) step 1's confident-keypoint counts.
        mean_confidence: (P,) mean confidence of those keypoints (0 where none).
        sample_idx: (P,) the rows' ``sample_idx`` (distinct).
        n_body_confident: (P,) the confident body-25 counts, ranked first (None: all equal).

    Returns:
        (P,) int64: -1 for a kept candidate, else the position (0..P-1) of the kept candidate
        whose duplicate it is.
    """
    count = len(oks)
    body = np.zeros(count, np.int64) if n_body_confident is None else n_body_confident
    order = sorted(
        range(count),
        key=lambda i: (
            -int(body[i]),
            -int(n_confident[i]),
            -float(mean_confidence[i]),
            int(sample_idx[i]),
        ),
    )
    reach = config.oks_threshold - OKS_MARGIN
    owner = np.full(count, -1, np.int64)
    marked = np.zeros(count, bool)
    for rank, best in enumerate(order):
        if marked[best]:
            continue
        for other in order[rank + 1 :]:
            if not marked[other] and oks[best, other] >= reach:
                owner[other], marked[other] = best, True
    return owner


@dataclass(frozen=True)
class Duplicates:
    """The duplicate-person decision of N rows.

    Attributes:
        owner: (N,) int64: the row (0..N-1) of the kept candidate a row duplicates, -1 for
            rows that are no duplicate (kept by this rule, or not candidates).
        oks: (N,) float64: the OKS with that candidate (NaN where ``owner`` is -1).
    """

    owner: np.ndarray
    oks: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """(N,) bool: the duplicates."""
        return self.owner >= 0


def find_duplicates(
    keypoints: np.ndarray,
    confident: np.ndarray,
    images: Sequence[str],
    candidates: np.ndarray,
    sample_idx: np.ndarray,
    config: DuplicateConfig,
) -> Duplicates:
    """Mark the duplicate persons among N rows (see the module docstring).

    Args:
        keypoints: (N, 137, 3) OpenPose-137 ``(x, y, conf)``, pixels.
        confident: (N, 137) bool, step 1's confident keypoints.
        images: N image keys (image path, or ``video#frame``); rows are compared only with
            rows of the same key. The caller must hand in *every* row of each image.
        candidates: (N,) bool: rows that have keypoints (the others take no part).
        sample_idx: (N,) int64 distinct row ids (the tie-break).
        config: the threshold.
    """
    count = len(images)
    confident = np.asarray(confident, bool)
    conf = np.asarray(keypoints, np.float64)[..., 2]
    n_confident = confident.sum(axis=1)
    n_body_confident = confident[:, OPENPOSE137_PARTS["body"]].sum(axis=1)
    total = np.where(confident, conf, 0.0).sum(axis=1)
    mean_confidence = np.divide(total, n_confident, out=np.zeros(count), where=n_confident > 0)
    groups: dict[str, list[int]] = {}
    for row in np.flatnonzero(np.asarray(candidates, bool)):
        groups.setdefault(images[row], []).append(int(row))
    owner = np.full(count, -1, np.int64)
    similarity = np.full(count, np.nan)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        rows = sorted(rows, key=lambda r: int(sample_idx[r]))
        oks = pairwise_oks(keypoints[rows], confident[rows])
        local = duplicate_of(
            oks,
            n_confident[rows],
            mean_confidence[rows],
            np.asarray(sample_idx)[rows],
            config,
            n_body_confident=n_body_confident[rows],
        )
        for position, kept in enumerate(local):
            if kept >= 0:
                owner[rows[position]] = rows[kept]
                similarity[rows[position]] = oks[position, kept]
    return Duplicates(owner, similarity)

"""Decide which detected MediaPipe hand is the person's left and which the right.

Two pieces of evidence are combined:

1. **Handedness** from MediaPipe Hands: a label "Left"/"Right" with the probability ``score``
   of that label. The legacy solution assumes a *mirrored* (selfie) input image: its
   ``mediapipe.solutions.hands.Hands`` docstring says handedness is determined "assuming the
   input image is mirrored ... If that is not the case, use cv2.flip(image, 1) to flip the image
   first for a correct handedness output". Dataset photos are not mirrored, so with
   ``mirrored_input=False`` the label is swapped: "Left" means the person's right hand.
2. **Proximity** of the hand's wrist (hand landmark 0) to the MediaPipe pose wrists (pose
   landmarks 15 = left wrist, 16 = right wrist; pose left/right is the person's own side, also
   on non-mirrored photos), measured in palm lengths (hand landmark 0 -> 9, wrist to middle
   finger MCP). A pose wrist is used only when its visibility is at least
   ``min_wrist_visibility``; a hand farther than ``max_palm_lengths`` from a usable wrist
   cannot take that side.

Every one-to-one assignment of candidates to sides is scored by the sum over assigned pairs of
``log p_side + log proximity`` with ``proximity = exp(-d^2 / 2)`` (d in palm lengths; 1 when the
side's wrist is unusable) and the highest-scoring assignment with the most hands wins. A pair
is admissible only if ``p_side >= min_side_probability`` or the side's wrist is usable and
within reach (proximity can overrule a contradicting handedness). The confidence of an assigned
hand is ``p_side`` (see :mod:`.mediapipe_detector` for the full confidence rules).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

SIDES = ("left", "right")


@dataclass(frozen=True)
class HandCandidate:
    """One hand found by MediaPipe Hands.

    Attributes:
        points: (21, 2) pixels of the original image, MediaPipe/OpenPose hand order.
        label: MediaPipe's handedness label, "Left" or "Right" (as reported, mirrored view).
        score: probability of ``label`` in [0, 1].
        world: (21, 3) metres, MediaPipe hand world landmarks (origin at the hand's centre).
    """

    points: np.ndarray
    label: str
    score: float
    world: np.ndarray


def side_probability(candidate: HandCandidate, side: str, mirrored_input: bool) -> float:
    """Probability that ``candidate`` is the person's ``side`` ("left"/"right") hand."""
    label = candidate.label.lower()
    if not mirrored_input:
        label = "right" if label == "left" else "left"
    score = float(np.clip(candidate.score, 0.0, 1.0))
    return score if label == side else 1.0 - score


def palm_length(points: np.ndarray) -> float:
    """Wrist (0) to middle-finger MCP (9) distance of (21, 2) hand points, pixels (>= 1)."""
    return max(float(np.linalg.norm(points[9] - points[0])), 1.0)


def assign_hands(
    candidates: list[HandCandidate],
    pose_wrists: dict[str, np.ndarray | None],
    mirrored_input: bool = False,
    min_wrist_visibility: float = 0.3,
    max_palm_lengths: float = 2.5,
    min_side_probability: float = 0.5,
) -> dict[str, tuple[int, float]]:
    """Assign candidates to the person's left/right hand.

    Args:
        candidates: hands found in the person's crops.
        pose_wrists: "left"/"right" -> (3,) pose wrist (x, y pixels, visibility), or ``None``
            when no pose was found.
        mirrored_input: True for selfie-style mirrored images (MediaPipe labels used as is).
        min_wrist_visibility: pose wrist visibility needed to use proximity.
        max_palm_lengths: farthest wrist-to-wrist distance, in palm lengths, for a usable wrist.
        min_side_probability: handedness probability admitting a pair without proximity.

    Returns:
        side -> (candidate index, confidence = p_side) for each assigned side.
    """
    log_score = np.full((len(candidates), 2), -np.inf)
    for i, cand in enumerate(candidates):
        for j, side in enumerate(SIDES):
            p_side = side_probability(cand, side, mirrored_input)
            wrist = pose_wrists.get(side)
            usable = wrist is not None and wrist[2] >= min_wrist_visibility
            prox = 1.0
            if usable:
                dist = np.linalg.norm(cand.points[0] - wrist[:2]) / palm_length(cand.points)
                if dist > max_palm_lengths:
                    continue
                prox = float(np.exp(-0.5 * dist**2))
            elif p_side < min_side_probability:
                continue
            log_score[i, j] = np.log(max(p_side, 1e-6)) + np.log(max(prox, 1e-12))
    best: tuple[int, float, dict[str, tuple[int, float]]] = (0, -np.inf, {})
    options = [None, *range(len(candidates))]
    for left, right in itertools.product(options, options):
        if left is not None and left == right:
            continue
        chosen = {s: c for s, c in zip(SIDES, (left, right), strict=True) if c is not None}
        total = sum(log_score[c, SIDES.index(s)] for s, c in chosen.items())
        if not np.isfinite(total):
            continue
        if (len(chosen), total) > best[:2]:
            result = {
                s: (c, side_probability(candidates[c], s, mirrored_input))
                for s, c in chosen.items()
            }
            best = (len(chosen), total, result)
    return best[2]

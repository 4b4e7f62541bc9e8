"""The project's one vocabulary: the four labelled parts and every reason a row can carry.

:class:`Part` is the order of the label store's ``part_valid`` columns (body, face, left hand,
right hand); each part's OpenPose-137 keypoint indices come from the convention table
(:data:`furpe_label.experts.keypoints.conventions.OPENPOSE137_PARTS`), never from local slices.

:class:`Reason` names why a person instance or one of its parts was dropped or suppressed, from
reading the image to the last selection step. Members are stable strings (the audit table stores
them dictionary-encoded); :meth:`Reason.meaning` gives the one-line explanation the report and
``furpe-label audit`` print. Free text (an exception message, a file name) never goes into a
reason: it goes into a separate ``detail`` string beside it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ["Part", "Reason", "Stage"]


class Part(StrEnum):
    """The four labelled parts, in ``part_valid`` column order."""

    BODY = "body"
    FACE = "face"
    LEFT_HAND = "left_hand"
    RIGHT_HAND = "right_hand"

    @property
    def column(self) -> int:
        """Column of this part in ``part_valid`` and every other (N, 4) per-part array."""
        return _PART_ORDER.index(self)

    @property
    def is_hand(self) -> bool:
        """True for the two hands."""
        return self in (Part.LEFT_HAND, Part.RIGHT_HAND)

    @property
    def keypoint_slice(self) -> slice:
        """This part's indices in the OpenPose-137 layout (from the convention table)."""
        from furpe_label.experts.keypoints.conventions import OPENPOSE137_PARTS

        return OPENPOSE137_PARTS[self.value]


_PART_ORDER = tuple(Part)


class Stage(IntEnum):
    """Where in the run a row was dropped; 0 = kept. The audit stores it by name
    (:attr:`label`, the ``drop_stage`` column); the integer values are the run's own order
    and are not FuRPE's step numbers (those are the audit's ``drop_step``)."""

    KEPT = 0
    INPUT = 1  # reading the image / frame, before keypoints
    KEYPOINTS = 2  # detection and selection step 1
    EXPERTS = 3  # crops, expert forwards and selection step 2
    FUSION = 4  # fusion into SMPL-X and shape transfer
    REPROJECTION = 5  # selection step 3
    SIGNALS = 6  # the checks beyond FuRPE's steps (selection.signal_rules)
    TEMPORAL = 7  # the temporal rule along a video track (after the signals)

    @property
    def label(self) -> str:
        """The stage's name as the audit's ``drop_stage`` stores it (``kept``, ``input``, ...)."""
        return self.name.lower()


class Reason(StrEnum):
    """Why a person instance (or one part of it) is not labelled; ``OK`` when it is."""

    OK = "ok"
    # input
    IMAGE_MISSING = "image_missing"
    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_TOO_LARGE = "image_too_large"
    NOT_A_REGULAR_FILE = "not_a_regular_file"
    FRAME_UNREADABLE = "frame_unreadable"
    INVALID_BOX = "invalid_box"
    OUTSIDE_ROOT = "outside_root"
    # keypoint detection
    NO_PERSON = "no_person_in_box"
    IMAGE_ID_MISSING = "image_id_missing"
    KEYPOINTS_FILE_MISSING = "keypoints_file_missing"
    KEYPOINTS_FILE_INVALID = "keypoints_file_invalid"
    BACKEND_ERROR = "backend_error"
    DUPLICATE_PERSON = "duplicate_person"
    PERSON_CUT_BY_BOX = "person_cut_by_box"
    # selection step 1
    FEW_CONFIDENT_KEYPOINTS = "few_confident_keypoints"
    # crops
    EMPTY_BOX = "empty_box"
    ZERO_AREA = "zero_area"
    OUTSIDE_IMAGE = "outside_image"
    TOO_FEW_KEYPOINTS = "too_few_keypoints"
    CROP_FAILED = "crop_failed"
    # experts and selection step 2
    EXPERT_DISABLED = "expert_disabled"
    EXPERT_FAILED = "expert_failed"
    NON_FINITE_OUTPUT = "non_finite_output"
    OUT_OF_RANGE = "parameters_out_of_range"
    HAND_INVISIBLE = "hand_invisible"
    # selection step 3
    REPROJECTION_ERROR = "reprojection_error"
    REPROJECTION_UNVERIFIABLE = "reprojection_unverifiable"
    # temporal rule (video tracks)
    TEMPORAL_SPIKE = "temporal_spike"
    # signals beyond FuRPE's three steps (selection.signal_rules)
    WRIST_DISAGREEMENT = "wrist_disagreement"
    HANDS_SWAPPED = "hands_swapped"
    LIMBS_SWAPPED = "limbs_swapped"
    IMPLAUSIBLE_POSE = "implausible_pose"
    IMPLAUSIBLE_SHAPE = "implausible_shape"
    EXPERTS_DISAGREE = "experts_disagree"
    CROP_TRUNCATED = "crop_truncated"
    CROP_MISSES_KEYPOINTS = "crop_misses_keypoints"
    FIT_DISAGREEMENT = "fit_disagreement"
    # what-if re-decisions from stored scores
    NOT_SCORED = "not_scored"

    @property
    def meaning(self) -> str:
        """One line saying what the reason means (for the audit and the report)."""
        return _MEANINGS[self]


_MEANINGS: dict[Reason, str] = {
    Reason.OK: "labelled",
    Reason.IMAGE_MISSING: "the image (or video) file does not exist",
    Reason.IMAGE_UNREADABLE: "the file could not be decoded as an image (corrupt, truncated, "
    "zero bytes or not an image)",
    Reason.IMAGE_TOO_SMALL: "the image is smaller than the smallest size the detector accepts",
    Reason.IMAGE_TOO_LARGE: "the image is larger than the configured maximum side",
    Reason.NOT_A_REGULAR_FILE: "the input path is a FIFO, socket, device or folder, not a "
    "regular file (never opened: reading one can block)",
    Reason.FRAME_UNREADABLE: "the video frame could not be decoded",
    Reason.INVALID_BOX: "the person box is not finite, has no area or is absurdly large "
    "(a box the dataset gives is never replaced by a detected one)",
    Reason.OUTSIDE_ROOT: "the annotation names a file outside the dataset root (after "
    "resolving '..' and symlinks); it was not opened (--allow-outside-root allows it)",
    Reason.NO_PERSON: "the keypoint detector found no person in the box",
    Reason.IMAGE_ID_MISSING: "the keypoint source needs the image's name and none was given",
    Reason.KEYPOINTS_FILE_MISSING: "the precomputed keypoint file for the image does not exist",
    Reason.KEYPOINTS_FILE_INVALID: "the precomputed keypoint file is empty or malformed",
    Reason.BACKEND_ERROR: "the keypoint backend raised an error on this image",
    Reason.DUPLICATE_PERSON: "another candidate of the same image has the same person's "
    "keypoints (OKS at or above the duplicate threshold) and more confident ones",
    Reason.PERSON_CUT_BY_BOX: "the box cuts the person: body keypoints lie beyond it, and "
    "also beyond the box grown once to hold them (the body is not inside it)",
    Reason.FEW_CONFIDENT_KEYPOINTS: "step 1: fewer confident OpenPose-137 keypoints than the "
    "minimum (FuRPE: 12 at body 0.1 / hand 0.2 / face 0.4)",
    Reason.EMPTY_BOX: "the part's crop rule produced no box (no usable keypoints)",
    Reason.ZERO_AREA: "the part's crop box has zero width or height",
    Reason.OUTSIDE_IMAGE: "the part's crop box does not overlap the image",
    Reason.TOO_FEW_KEYPOINTS: "the part has too few confident keypoints to crop",
    Reason.CROP_FAILED: "warping the part's crop failed",
    Reason.EXPERT_DISABLED: "no expert is loaded for this part",
    Reason.EXPERT_FAILED: "the part expert raised an error on this batch",
    Reason.NON_FINITE_OUTPUT: "step 2: the expert returned NaN or infinite values",
    Reason.OUT_OF_RANGE: "step 2: the expert's parameters are outside their plausible range",
    Reason.HAND_INVISIBLE: "step 2: the hand has too few confident keypoints (FuRPE: <= 8)",
    Reason.REPROJECTION_ERROR: "step 3: the fused SMPL-X keypoints reproject too far from the "
    "detected ones",
    Reason.REPROJECTION_UNVERIFIABLE: "step 3: no confident detected keypoint of a labelled part "
    "has a finite model counterpart, so the label cannot be checked",
    Reason.WRIST_DISAGREEMENT: "signals: the hand expert's hand rotation is far from the body "
    "expert's wrist rotation (a twisted or mislabelled hand); the hand is suppressed",
    Reason.HANDS_SWAPPED: "signals: the hands reproject clearly better with the left and right "
    "hand outputs exchanged; the hands are suppressed",
    Reason.LIMBS_SWAPPED: "signals: the body reprojects clearly better with its left and right "
    "arms (or legs) exchanged",
    Reason.IMPLAUSIBLE_POSE: "signals: a body joint rotation lies beyond the anatomical joint "
    "limits",
    Reason.IMPLAUSIBLE_SHAPE: "signals: the body shape is far from the mean (norm of the shape "
    "coefficients)",
    Reason.EXPERTS_DISAGREE: "signals: two experts of the same body region disagree (the body's "
    "and the face's head rotation)",
    Reason.CROP_TRUNCATED: "signals: too much of the part's crop lies outside the image",
    Reason.CROP_MISSES_KEYPOINTS: "signals: the part's crop holds too few of the part's "
    "confident keypoints",
    Reason.FIT_DISAGREEMENT: "signals: the keypoint fit run beside the part's network expert "
    "(initialised from its output) moved the part's 3D joints far from the network's (MPJPE "
    "above the limit); the part is suppressed (the body: the sample is dropped)",
    Reason.TEMPORAL_SPIKE: "temporal: the body pose jumps between this frame and its "
    "neighbours of the same track (angular acceleration above the limit)",
    Reason.NOT_SCORED: "what-if: the original run never scored this step for the row (an "
    "earlier step dropped it), so its outcome under the new thresholds needs a re-run",
}

if set(_MEANINGS) != set(Reason):  # pragma: no cover - guards edits of this module
    raise RuntimeError("every Reason needs a meaning")

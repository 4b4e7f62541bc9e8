"""Every column the selection stores: name, dtype, unit and meaning, in one place.

These are the future audit-table columns (the storage schema will take them over). Scores
(:data:`METRIC_COLUMNS`) are always stored, for kept and dropped rows alike; decisions
(:data:`DECISION_COLUMNS`) are recomputed from them by
:func:`furpe_label.selection.decisions.decide` / ``what_if``. All columns are row-aligned with
the N person instances of a shard. dtype ``"reason"`` holds
:class:`~furpe_label.experts.vocabulary.Reason` members (numpy object arrays; dictionary-encoded
strings in Arrow). ``{part}`` is one of ``body, face, left_hand, right_hand`` (:class:`Part`
values), ``{hand}`` one of ``left_hand, right_hand``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from furpe_label.experts.vocabulary import Part, Reason

__all__ = [
    "DECISION_COLUMNS",
    "HANDS",
    "METRIC_COLUMNS",
    "PARTS",
    "Column",
    "SelectionMetrics",
    "as_reasons",
]

PARTS: tuple[str, ...] = tuple(part.value for part in Part)
HANDS: tuple[str, ...] = (Part.LEFT_HAND.value, Part.RIGHT_HAND.value)
_SCORING_METADATA_KEY = b"furpe_label.selection.scoring"


@dataclass(frozen=True)
class Column:
    """dtype (numpy name, or "reason"), unit ("" when none) and one-line meaning."""

    dtype: str
    unit: str
    meaning: str


def _reprojection_columns(suffix: str, scope: str) -> dict[str, Column]:
    frames = {"px": ("px", "image pixels"), "norm": ("unit", "body crop normalised to [-1, 1]")}
    out = {f"reproj_n_kp{suffix}": Column("int16", "count", f"step 3: keypoints compared{scope}")}
    for frame, (unit, where) in frames.items():
        out[f"reproj_mse{'_' + frame}{suffix}"] = Column(
            "float32", f"{unit}^2", f"step 3: mean squared distance{scope}, {where}"
        )
        out[f"reproj_mean{'_' + frame}{suffix}"] = Column(
            "float32", unit, f"step 3: mean distance{scope}, {where}"
        )
    return out


def _metric_columns() -> dict[str, Column]:
    cols = {
        "n_confident_kp": Column(
            "int16", "count", "step 1: OpenPose-137 keypoints with confidence >= their part's "
            "threshold (FuRPE filter scripts)"
        ),
    }  # fmt: skip
    for part in PARTS:
        cols[f"n_confident_{part}"] = Column("int16", "count", f"step 1: confident {part} points")
    cols["step2_scored"] = Column("bool", "", "step 2 was scored for the row")
    for part in PARTS:
        cols[f"expert_reason_{part}"] = Column(
            "reason", "", f"crop / expert-stage reason of the {part} (ok: the expert gave output)"
        )
        cols[f"non_finite_{part}"] = Column(
            "bool", "", f"step 2: the {part} expert's output has a NaN or infinite value"
        )
    cols["betas_max_abs"] = Column("float32", "", "step 2: max |beta| of the body expert")
    cols["rotation_error"] = Column(
        "float32", "", "step 2: max over the body's rotation matrices of max|R R^T - I| and "
        "|det R - 1|"
    )  # fmt: skip
    for hand in HANDS:
        cols[f"hand_max_abs_{hand}"] = Column(
            "float32", "rad", f"step 2: max |x| over the 45 absolute finger axis-angle values "
            f"of the {hand} (expert output + mean hand, float32 as FuRPE's loader)"
        )  # fmt: skip
        cols[f"n_visible_kp_{hand}"] = Column(
            "int16", "count", f"step 2: FuRPE loader's {hand} count: the body's wrist + hand "
            "keypoints 1..20 with confidence >= the hand threshold"
        )  # fmt: skip
    cols["step3_scored"] = Column("bool", "", "step 3 was scored for the row")
    for part in PARTS:
        cols.update(_reprojection_columns(f"_{part}", f" over confident {part} keypoints"))
    cols.update(_reprojection_columns("", " over confident keypoints of the parts valid after "
                                      "step 2 (from the per-part columns)"))  # fmt: skip
    for frame, unit in (("px", "px"), ("norm", "unit")):
        cols[f"reproj_rms_{frame}"] = Column(
            "float32", unit, f"step 3: sqrt(reproj_mse_{frame}), root mean squared distance"
        )
    return cols


METRIC_COLUMNS: dict[str, Column] = _metric_columns()
"""Scores, always stored: name -> :class:`Column`."""

DECISION_COLUMNS: dict[str, Column] = {
    **{
        f"step2_{part}": Column(
            "reason", "", f"step 2 status of the {part}: ok, or why its label is suppressed "
            "(for the body: why the sample is dropped)"
        )
        for part in PARTS
    },
    "step3_status": Column("reason", "", "step 3: ok, reprojection_error or _unverifiable"),
    "drop_stage": Column("int8", "", "furpe_label.experts.vocabulary.Stage of the drop; 0 kept"),
    "drop_step": Column("int8", "", "FuRPE's step that dropped the row (1 keypoint confidence, "
                        "2 expert validity, 3 reprojection); 0 kept or dropped elsewhere"),
    "drop_reason": Column("reason", "", "why the row was dropped; ok when kept"),
    "part_valid": Column("bool", "", "(N, 4) per Part: the part's label is usable"),
}  # fmt: skip
"""Decisions, recomputed from the scores under a config: name -> :class:`Column`."""


def as_reasons(values: Iterable[object] | np.ndarray, name: str = "reasons") -> np.ndarray:
    """Object array of :class:`Reason` members (same shape) from members or their strings.

    Raises:
        ValueError: naming ``name`` and the first value that is no Reason.
    """
    array = np.asarray(values, dtype=object)
    out = np.empty(array.shape, dtype=object)
    flat_in, flat_out = array.reshape(-1), out.reshape(-1)
    for i, value in enumerate(flat_in):
        try:
            flat_out[i] = Reason(value)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a Reason") from None
    return out


class SelectionMetrics:
    """The scores of all three steps for N rows, and the scoring parameters used.

    Args:
        columns: every name of :data:`METRIC_COLUMNS`, each an (N,) array (cast to its dtype).
        scoring: :meth:`SelectionConfig.scoring_parameters` of the scoring run.
    """

    def __init__(self, columns: Mapping[str, np.ndarray], scoring: Mapping[str, float]) -> None:
        missing = sorted(set(METRIC_COLUMNS) - set(columns))
        unknown = sorted(set(columns) - set(METRIC_COLUMNS))
        if missing or unknown:
            raise ValueError(f"metrics columns: missing {missing}, unknown {unknown}")
        lengths = {name: len(np.asarray(value)) for name, value in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"metrics columns have different lengths: {lengths}")
        self.columns: dict[str, np.ndarray] = {}
        for name, spec in METRIC_COLUMNS.items():
            value = columns[name]
            if spec.dtype == "reason":
                self.columns[name] = as_reasons(value, name)
            else:
                self.columns[name] = np.asarray(value).astype(spec.dtype, copy=False)
        self.scoring = {key: float(value) for key, value in scoring.items()}

    def __len__(self) -> int:
        return len(self.columns["n_confident_kp"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def to_arrow(self):
        """A ``pyarrow.Table``: reasons dictionary-encoded, scoring parameters in metadata."""
        import pyarrow as pa

        arrays = {}
        for name, value in self.columns.items():
            if METRIC_COLUMNS[name].dtype == "reason":
                strings = pa.array([str(reason) for reason in value], type=pa.string())
                arrays[name] = strings.dictionary_encode()
            else:
                arrays[name] = pa.array(value)
        table = pa.table(arrays)
        return table.replace_schema_metadata({_SCORING_METADATA_KEY: json.dumps(self.scoring)})

    @classmethod
    def from_arrow(cls, table) -> SelectionMetrics:
        """Inverse of :meth:`to_arrow` (the scoring parameters come from its metadata)."""
        metadata = table.schema.metadata or {}
        if _SCORING_METADATA_KEY not in metadata:
            raise ValueError("the table has no selection scoring parameters in its metadata")
        scoring = json.loads(metadata[_SCORING_METADATA_KEY])
        columns = {}
        for name in table.column_names:
            column = table.column(name)
            if METRIC_COLUMNS.get(name, Column("", "", "")).dtype == "reason":
                columns[name] = np.asarray(column.cast("string").to_pylist(), dtype=object)
            else:
                columns[name] = column.to_numpy()
        return cls(columns, scoring)

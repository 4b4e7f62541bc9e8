"""Every column the selection stores: name, dtype, unit, meaning and step, in one place.

Each is a :class:`~furpe_label.selection.fields.Field` whose ``group`` names its FuRPE step
(:data:`STEPS`); the storage schema's audit columns take them over as they are. Scores
(:data:`METRIC_COLUMNS`) are always stored, for kept and dropped rows alike (null where the row
never reached the step); decisions (:data:`DECISION_COLUMNS`) are recomputed from them by
:func:`furpe_label.selection.decisions.decide` / ``what_if``. All columns are row-aligned with
the N person instances of a shard. Reason columns (``category`` with
:data:`~furpe_label.selection.fields.REASONS`) hold :class:`~furpe_label.experts.vocabulary.Reason`
members (numpy object arrays; dictionary-encoded strings in Arrow). ``{part}`` is one of
``body, face, left_hand, right_hand`` (:class:`Part` values), ``{hand}`` one of
``left_hand, right_hand``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np

from furpe_label.experts.vocabulary import Part, Reason
from furpe_label.selection.fields import REASONS, Field
from furpe_label.selection.signal_rules import SIGNAL_COLUMNS, SIGNAL_DECISION_COLUMNS

__all__ = [
    "DECISION_COLUMNS",
    "HANDS",
    "METRIC_COLUMNS",
    "PARTS",
    "STEPS",
    "SelectionMetrics",
    "Step",
    "as_reasons",
]

Step = Literal["step1", "step2", "step3", "signals", "temporal"]
STEPS: tuple[Step, ...] = ("step1", "step2", "step3", "signals", "temporal")
"""FuRPE's three selection steps, then the rules beyond them (``signals``:
:mod:`furpe_label.selection.signal_rules`; ``temporal``: :mod:`furpe_label.selection.temporal`):
the ``group`` of every selection column, the prefix of every ``audit --what-if`` key."""

PARTS: tuple[str, ...] = tuple(part.value for part in Part)
HANDS: tuple[str, ...] = (Part.LEFT_HAND.value, Part.RIGHT_HAND.value)
_SCORING_METADATA_KEY = b"furpe_label.selection.scoring"


def _score(name: str, dtype: str, unit: str, meaning: str, step: Step) -> Field:
    """A stored score: null where the row never reached ``step``."""
    return Field(name, dtype, (), unit, meaning, step, nullable=True)


def _reason(name: str, meaning: str, step: Step) -> Field:
    """A :class:`Reason` column of ``step`` (null where the row never reached it)."""
    return Field(name, "category", (), "", meaning, step, nullable=True, categories=REASONS)


def _reprojection_columns(suffix: str, scope: str) -> list[Field]:
    frames = {"px": ("px", "image pixels"), "norm": ("unit", "body crop normalised to [-1, 1]")}
    out = [
        _score(
            f"reproj_n_kp{suffix}", "int16", "count", f"step 3: keypoints compared{scope}", "step3"
        )
    ]
    for frame, (unit, where) in frames.items():
        out.append(
            _score(
                f"reproj_mse_{frame}{suffix}",
                "float32",
                f"{unit}^2",
                f"step 3: mean squared distance{scope}, {where}",
                "step3",
            )
        )
        out.append(
            _score(
                f"reproj_mean_{frame}{suffix}",
                "float32",
                unit,
                f"step 3: mean distance{scope}, {where}",
                "step3",
            )
        )
    return out


def _metric_columns() -> list[Field]:
    cols = [
        _score(
            "n_confident_kp",
            "int16",
            "count",
            "step 1: OpenPose-137 keypoints with "
            "confidence >= their part's threshold (FuRPE filter scripts)",
            "step1",
        ),
    ]
    for part in PARTS:
        cols.append(
            _score(
                f"n_confident_{part}", "int16", "count", f"step 1: confident {part} points", "step1"
            )
        )
    cols.append(_score("step2_scored", "bool", "", "step 2 was scored for the row", "step2"))
    for part in PARTS:
        cols.append(
            _reason(
                f"expert_reason_{part}",
                f"crop / expert-stage reason of the {part} (ok: the expert gave output)",
                "step2",
            )
        )
        cols.append(
            _score(
                f"non_finite_{part}",
                "bool",
                "",
                f"step 2: the {part} expert's output has a NaN or infinite value",
                "step2",
            )
        )
    cols.append(
        _score("betas_max_abs", "float32", "", "step 2: max |beta| of the body expert", "step2")
    )
    cols.append(
        _score(
            "rotation_error",
            "float32",
            "",
            "step 2: max over the body's rotation matrices of max|R R^T - I| and |det R - 1|",
            "step2",
        )
    )
    for hand in HANDS:
        cols.append(
            _score(
                f"hand_max_abs_{hand}",
                "float32",
                "rad",
                "step 2: max |x| over the "
                f"45 absolute finger axis-angle values of the {hand} (expert output "
                "+ mean hand, float32 as FuRPE's loader)",
                "step2",
            )
        )
        cols.append(
            _score(
                f"n_visible_kp_{hand}",
                "int16",
                "count",
                f"step 2: FuRPE loader's "
                f"{hand} count: the body's wrist + hand keypoints 1..20 with "
                "confidence >= the hand threshold",
                "step2",
            )
        )
    cols.append(_score("step3_scored", "bool", "", "step 3 was scored for the row", "step3"))
    for part in PARTS:
        cols += _reprojection_columns(f"_{part}", f" over confident {part} keypoints")
    cols += _reprojection_columns(
        "", " over confident keypoints of the parts valid after step 2 (from the per-part columns)"
    )
    for frame, unit in (("px", "px"), ("norm", "unit")):
        cols.append(
            _score(
                f"reproj_rms_{frame}",
                "float32",
                unit,
                f"step 3: sqrt(reproj_mse_{frame}), root mean squared distance",
                "step3",
            )
        )
    cols.append(
        _score(
            "temporal_accel_rad",
            "float32",
            "rad/frame^2",
            "temporal: largest angular acceleration of the candidate label's body rotations "
            "between the row and its previous and next rows of the same track "
            "(null: no track, or no such neighbour in the shard)",
            "temporal",
        )
    )
    return cols


METRIC_COLUMNS: dict[str, Field] = {
    **{column.name: column for column in _metric_columns()},
    **SIGNAL_COLUMNS,
}
"""Scores, always stored: name -> :class:`Field` (FuRPE's steps, then the signals beyond them,
:mod:`furpe_label.selection.signal_rules`)."""

DECISION_COLUMNS: dict[str, Field] = {
    column.name: column
    for column in (
        *(
            _reason(
                f"status_{part}",
                f"step 2 status of the {part}: ok, or why its label is "
                "suppressed (for the body: why the sample is dropped)",
                "step2",
            )
            for part in PARTS
        ),
        _reason("step3_status", "step 3: ok, reprojection_error or _unverifiable", "step3"),
        _reason("temporal_status", "temporal rule: ok or temporal_spike", "temporal"),
        *SIGNAL_DECISION_COLUMNS.values(),
    )
}
"""Each step's decisions, recomputed from the scores under a config: name -> :class:`Field`.
The row's outcome that :func:`~furpe_label.selection.decisions.combine` derives from them
(``drop_step``, ``drop_reason``, ``part_valid``) is described once, by the storage schema."""


def as_reasons(values: Iterable[object] | np.ndarray, name: str = "reasons") -> np.ndarray:
    """Object array of :class:`Reason` members (same shape) from members or their strings.

    Raises:
        ValueError: naming ``name`` and the first value that is no Reason.
    """
    array = np.asarray(values, dtype=object)
    out = np.empty(array.shape, dtype=object)
    flat_in, flat_out = array.reshape(-1), out.reshape(-1)
    try:  # a dict lookup per value: what-if sweeps (calibrate) call this thousands of times
        flat_out[:] = [_REASON_LOOKUP[value] for value in flat_in]
    except (KeyError, TypeError):
        for value in flat_in:
            if not isinstance(value, str | Reason) or value not in _REASON_LOOKUP:
                raise ValueError(f"{name}: {value!r} is not a Reason") from None
    return out


_REASON_LOOKUP: dict[object, Reason] = {
    **{reason.value: reason for reason in Reason},
    **{reason: reason for reason in Reason},
}
"""Reason members and their strings -> the member."""


class SelectionMetrics:
    """The scores of all three steps for N rows, and the scoring parameters used.

    Args:
        columns: every name of :data:`METRIC_COLUMNS`, each an (N,) array (cast to its dtype);
            a signal score (:data:`SIGNAL_COLUMNS`) left out is NaN (not computed: runs and
            audits from before the signals).
        scoring: :meth:`SelectionConfig.scoring_parameters` of the scoring run.
    """

    def __init__(self, columns: Mapping[str, np.ndarray], scoring: Mapping[str, float]) -> None:
        if columns:
            rows = len(np.asarray(next(iter(columns.values()))))
            nan = np.full(rows, np.nan, np.float32)
            columns = {**{name: nan for name in SIGNAL_COLUMNS}, **columns}
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
            if spec.holds_reasons:
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
            if METRIC_COLUMNS[name].holds_reasons:
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
            if name in METRIC_COLUMNS and METRIC_COLUMNS[name].holds_reasons:
                columns[name] = np.asarray(column.cast("string").to_pylist(), dtype=object)
            else:
                columns[name] = column.to_numpy()
        return cls(columns, scoring)

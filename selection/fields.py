"""The one column vocabulary: a stored quantity (:class:`Field`) with its name, dtype, shape,
unit, meaning and group.

The selection's scores and decisions (:mod:`furpe_label.selection.columns`), the storage
schema's label arrays and audit columns (:mod:`furpe_label.storage.schema`) and the manifest's
columns (:mod:`furpe_label.storage.manifest_columns`) are all :class:`Field` s; the selection,
the lowest layer that stores anything, defines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from furpe_label.experts.vocabulary import Part, Reason

__all__ = ["AUDIT_DTYPES", "LABEL_DTYPES", "REASONS", "Field", "per_part"]

LABEL_DTYPES = frozenset({"bool", "float16", "float32", "int64"})
AUDIT_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "float32", "string", "category", "list<category>"}
)
REASONS: tuple[str, ...] = tuple(reason.value for reason in Reason)
"""The categories of a column holding :class:`Reason` values, in dictionary order."""


@dataclass(frozen=True)
class Field:
    """One stored quantity.

    Attributes:
        name: array / column name (``smplx`` names for body-model parameters).
        dtype: numpy dtype name (labels, manifest elements) or a logical audit type from
            :data:`AUDIT_DTYPES`.
        shape: per-sample shape (the store adds the leading N); ``()`` for audit columns; a
            manifest column's may start with ``None`` (a length that varies by dataset).
        unit: unit of the values ("rad", "m", "px", "mm", "s", "px^2", "1" for
            dimensionless, "" for identifiers and categories).
        meaning: one line saying what the values are.
        group: what the field belongs to ("mask", "smplx", "expert", "camera", "keypoints",
            "track", "box", "feature" for labels; "id", "step1", "step2", "step3", "decision",
            "time", "truth" for the audit; "manifest" for the manifest's columns).
        optional: label arrays created only when the run asks for them.
        nullable: audit columns that may be null (not computed for this row).
        partition: the audit's hive partition key (in the folder name, not in the files).
        categories: the allowed values of a ``category`` column, in dictionary order.

    A column of :class:`Reason` values (:attr:`holds_reasons`) is a ``category`` column with
    :data:`REASONS` as its categories: numpy object arrays of Reason members in memory,
    dictionary-encoded strings in Arrow.
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...]
    unit: str
    meaning: str
    group: str
    optional: bool = False
    nullable: bool = False
    partition: bool = False
    categories: tuple[str, ...] = ()

    @property
    def holds_reasons(self) -> bool:
        """True for a ``category`` column of :class:`Reason` values."""
        return self.dtype == "category" and self.categories == REASONS

    def to_json(self) -> dict[str, Any]:
        """JSON-able description (written into the store's attributes)."""
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "unit": self.unit,
            "meaning": self.meaning,
            "group": self.group,
        }
        for flag in ("optional", "nullable", "partition"):
            if getattr(self, flag):
                out[flag] = True
        if self.categories:
            out["categories"] = list(self.categories)
        return out


def per_part(
    name: str, dtype: str, shape: tuple[int, ...], unit: str, meaning: str, group: str, **flags: Any
) -> tuple[Field, ...]:
    """One field per :class:`Part`, named ``{name}_{part}``; ``{part}`` in meaning is filled."""
    fields = []
    for part in Part:
        part_meaning = meaning.format(part=part.value.replace("_", " "))
        fields.append(
            Field(f"{name}_{part.value}", dtype, shape, unit, part_meaning, group, **flags)
        )
    return tuple(fields)

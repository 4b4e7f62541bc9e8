"""The single source of names, dtypes, shapes, units and meanings for what a run stores.

Two tables of :class:`Field` (written in :mod:`.label_fields` and :mod:`.audit_fields`):

- :data:`LABEL_FIELDS`: the arrays of ``OUT/labels.zarr``. Each array has shape
  ``(N_inputs, *field.shape)``, is indexed by ``sample_idx`` and has the numpy ``dtype``
  named here. Float arrays are NaN, bool arrays False and int arrays -1 where nothing was
  written.
- :data:`AUDIT_FIELDS`: the columns of the Parquet audit (one row per input person instance).
  ``dtype`` is a logical type (see :data:`AUDIT_DTYPES`); ``category`` columns are
  dictionary-encoded with a fixed set of allowed values (``categories``), taken from
  :class:`~furpe_label.experts.vocabulary.Reason`, :class:`~furpe_label.experts.vocabulary.Part`
  or :class:`~furpe_label.experts.vocabulary.Stage` (by :attr:`~.Stage.label`).

Per-part names end with the :class:`Part` value (``box_left_hand``, ``status_face``), generated
from the enum so the four parts always appear in ``part_valid`` order. Adding a field or column
is one line in a table below; the label store, the audit writer, the reader, the exports and
the report iterate the tables and need no change.

Conventions (also written into the store's attributes, :data:`CONVENTIONS`): axis-angle
rotations in radians, ``smplx`` parameter names and joint order, hand poses as absolute finger
rotations (``flat_hand_mean=True``), metres in 3D, pixels of the original image in 2D,
OpenPose-137 keypoint order, boxes as pixel ``xywh``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from furpe_label.selection.fields import AUDIT_DTYPES, LABEL_DTYPES, Field
from furpe_label.storage.audit_fields import AUDIT_FIELDS, TIMED_STAGES
from furpe_label.storage.label_fields import CONVENTIONS, LABEL_FIELDS, SMPLX_PARAMS

__all__ = [
    "AUDIT_DTYPES",
    "AUDIT_FIELDS",
    "CONVENTIONS",
    "LABEL_DTYPES",
    "LABEL_FIELDS",
    "SCHEMA_VERSION",
    "SMPLX_PARAMS",
    "TIMED_STAGES",
    "Field",
    "audit_field",
    "label_field",
    "label_fields",
    "schema_json",
]

SCHEMA_VERSION = 2
"""Bumped whenever a field is renamed or changes dtype, shape or unit."""


_LABELS = {f.name: f for f in LABEL_FIELDS}
_AUDIT = {f.name: f for f in AUDIT_FIELDS}


def label_field(name: str) -> Field:
    """The label array called ``name`` (KeyError lists the known names)."""
    try:
        return _LABELS[name]
    except KeyError:
        raise KeyError(f"unknown label field {name!r}; known: {sorted(_LABELS)}") from None


def audit_field(name: str) -> Field:
    """The audit column called ``name`` (KeyError lists the known names)."""
    try:
        return _AUDIT[name]
    except KeyError:
        raise KeyError(f"unknown audit column {name!r}; known: {sorted(_AUDIT)}") from None


def label_fields(optional: Iterable[str] = ()) -> tuple[Field, ...]:
    """Every required label field plus the named optional ones, in table order."""
    wanted = set(optional)
    for name in wanted:
        if not label_field(name).optional:
            raise ValueError(f"{name!r} is always stored; name only optional fields")
    return tuple(f for f in LABEL_FIELDS if not f.optional or f.name in wanted)


def schema_json(fields: Iterable[Field]) -> list[dict[str, Any]]:
    """JSON-able list of field descriptions."""
    return [f.to_json() for f in fields]


def _check_tables() -> None:
    for table, dtypes in ((LABEL_FIELDS, LABEL_DTYPES), (AUDIT_FIELDS, AUDIT_DTYPES)):
        names = [f.name for f in table]
        if len(names) != len(set(names)):
            raise RuntimeError(f"duplicate field names in the schema: {names}")
        for f in table:
            if f.dtype not in dtypes:
                raise RuntimeError(f"{f.name}: dtype {f.dtype!r} not in {sorted(dtypes)}")
            if ("category" in f.dtype) != bool(f.categories):
                raise RuntimeError(f"{f.name}: categories go with category dtypes only")


_check_tables()

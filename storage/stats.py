"""Small per-shard run statistics that cross from workers to the driver and merge with ``+``.

A shard's stats are computed from its audit table (:meth:`ShardStats.from_audit`), so the
counts always agree with the audit rows; the driver sums them for the progress bar and the
run summary. Stored as ``OUT/stats/<shard:05d>.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from furpe_label.experts.vocabulary import Stage
from furpe_label.storage.audit import stored_stages
from furpe_label.storage.schema import TIMED_STAGES

__all__ = ["ShardStats"]

_SECONDS = {f"seconds_{stage.name.lower()}": stage.name.lower() for stage in TIMED_STAGES}


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Key-wise sum of two (possibly nested) dicts of numbers."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, Mapping):
            out[key] = _merge(out.get(key, {}), value)
        else:
            out[key] = out.get(key, 0) + value
    return out


@dataclass(frozen=True)
class ShardStats:
    """Counts and timings of one or more shards.

    Attributes:
        samples: input person instances.
        kept: instances kept (``valid``).
        drops: stage name (``Stage`` member, lower case) -> reason value -> dropped instances.
        seconds: stage name -> wall seconds (the timed stages, plus any the driver adds,
            e.g. "write").
        shards: how many shards were merged.
    """

    samples: int = 0
    kept: int = 0
    drops: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)
    shards: int = 0

    def __post_init__(self) -> None:
        dropped = sum(sum(reasons.values()) for reasons in self.drops.values())
        if self.kept + dropped != self.samples:
            raise ValueError(
                f"stats do not add up: {self.kept} kept + {dropped} dropped != "
                f"{self.samples} samples"
            )

    def __add__(self, other: ShardStats) -> ShardStats:
        if not isinstance(other, ShardStats):
            return NotImplemented
        return ShardStats(
            samples=self.samples + other.samples,
            kept=self.kept + other.kept,
            drops=_merge(self.drops, other.drops),
            seconds=_merge(self.seconds, other.seconds),
            shards=self.shards + other.shards,
        )

    @property
    def kept_fraction(self) -> float:
        """kept / samples (0 for no samples)."""
        return self.kept / self.samples if self.samples else 0.0

    @classmethod
    def from_audit(
        cls, table: pa.Table, extra_seconds: Mapping[str, float] | None = None
    ) -> ShardStats:
        """Stats of one shard from its audit table (:func:`~furpe_label.storage.audit.audit_table`).

        Stage seconds are the sums of the rows' ``seconds_<stage>`` shares; ``extra_seconds``
        adds timings that have no audit column (e.g. ``{"write": 1.2}``).
        """
        steps = stored_stages(table)
        reasons = table.column("drop_reason").cast(pa.string()).to_numpy(zero_copy_only=False)
        drops: dict[str, dict[str, int]] = {}
        for step, reason in zip(
            steps[steps != Stage.KEPT], reasons[steps != Stage.KEPT], strict=True
        ):
            stage = Stage(int(step)).label
            drops.setdefault(stage, {})
            drops[stage][reason] = drops[stage].get(reason, 0) + 1
        seconds = {
            stage: float(pc.sum(table.column(column)).as_py() or 0.0)
            for column, stage in _SECONDS.items()
        }
        return cls(
            samples=table.num_rows,
            kept=int(np.count_nonzero(steps == Stage.KEPT)),
            drops=drops,
            seconds=_merge(seconds, extra_seconds or {}),
            shards=1,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict (inverse of :meth:`from_json`)."""
        return {
            "samples": self.samples,
            "kept": self.kept,
            "drops": {stage: dict(reasons) for stage, reasons in self.drops.items()},
            "seconds": dict(self.seconds),
            "shards": self.shards,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardStats:
        """Stats from :meth:`to_json` output.

        Raises:
            ValueError: a key is missing, a value has the wrong type, or the counts do not add
                up (the message says which).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        missing = [
            key for key in ("samples", "kept", "drops", "seconds", "shards") if key not in data
        ]
        if missing:
            raise ValueError(f"missing key(s) {', '.join(missing)}")
        drops, seconds = data["drops"], data["seconds"]
        if not isinstance(drops, Mapping) or not all(
            isinstance(reasons, Mapping) for reasons in drops.values()
        ):
            raise ValueError("'drops' is not an object of objects (stage -> reason -> count)")
        if not isinstance(seconds, Mapping):
            raise ValueError("'seconds' is not an object (stage -> seconds)")
        return cls(
            samples=_whole(data["samples"], "samples"),
            kept=_whole(data["kept"], "kept"),
            drops={
                str(s): {str(r): _whole(n, f"drops.{s}.{r}") for r, n in rs.items()}
                for s, rs in drops.items()
            },
            seconds={str(k): _number(v, f"seconds.{k}") for k, v in seconds.items()},
            shards=_whole(data["shards"], "shards"),
        )


def _whole(value: Any, key: str) -> int:
    """A JSON count: a non-negative whole number (ValueError naming ``key`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key!r} is {value!r}, not a count")
    return value


def _number(value: Any, key: str) -> float:
    """A JSON number (ValueError naming ``key`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key!r} is {value!r}, not a number")
    return float(value)

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
        """Stats from :meth:`to_json` output (ValueError if the counts do not add up)."""
        return cls(
            samples=int(data["samples"]),
            kept=int(data["kept"]),
            drops={s: {r: int(n) for r, n in rs.items()} for s, rs in data["drops"].items()},
            seconds={k: float(v) for k, v in data["seconds"].items()},
            shards=int(data["shards"]),
        )

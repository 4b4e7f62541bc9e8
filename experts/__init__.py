"""furpe_label.experts: the vocabulary, body models, detectors, crops, part experts, fusion.

Heavy subpackages are imported where used; the vocabulary is exported here."""

from __future__ import annotations

from furpe_label.experts.vocabulary import Part, Reason, Stage

__all__ = ["Part", "Reason", "Stage"]

"""How fusion merges the parts: the wrist rule (:mod:`.wrists`) and the head source.

The rules' names and defaults live here once; the command line's ``--wrist`` choices and
default, the run configuration (:class:`~furpe_label.pipeline.config.RunConfig` ``.fusion``)
and :func:`~furpe_label.experts.fusion.fuse.fuse_parts` all read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "DEFAULT_TWIST_LIMIT_RAD",
    "DEFAULT_WRIST_RULE",
    "WRIST_RULES",
    "FusionConfig",
    "WristRule",
]

WristRule = Literal["adaptive", "copy-paste", "furpe"]
WRIST_RULES: tuple[str, ...] = get_args(WristRule)
"""Every wrist integration rule (see :mod:`.wrists`)."""

DEFAULT_WRIST_RULE: WristRule = "adaptive"
"""PyMAF-X's adaptive integration."""

DEFAULT_TWIST_LIMIT_RAD = 0.4 * math.pi
"""The wrist twist range of ``adaptive``: PyMAF-X's code uses 0.4 pi (its paper says pi / 2)."""


@dataclass(frozen=True)
class FusionConfig:
    """How parts are merged.

    Attributes:
        wrist: ``"furpe"`` (FuRPE's public code), ``"copy-paste"`` (FrankMocap) or
            ``"adaptive"`` (PyMAF-X, default).
        twist_limit_rad: the wrist twist range of ``adaptive``, radians.
        head_from_face: replace the body's head rotation by DECA's (PyMAF-X's ``OPT_HEAD``).
    """

    wrist: WristRule = DEFAULT_WRIST_RULE
    twist_limit_rad: float = DEFAULT_TWIST_LIMIT_RAD
    head_from_face: bool = False

    def __post_init__(self) -> None:
        if self.wrist not in WRIST_RULES:
            raise ValueError(f"unknown wrist rule {self.wrist!r}; choose one of {WRIST_RULES}")
        if not 0.0 <= self.twist_limit_rad <= math.pi:
            raise ValueError(f"twist_limit_rad must be in [0, pi], got {self.twist_limit_rad}")

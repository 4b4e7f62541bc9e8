"""Depth of the containers an unpickling builds, checked before each container is built.

Python hashes a tuple (a dict key, a set or frozenset element) by recursing into its items in C
without any depth check, so a 1 MB pickle holding a tuple nested 10^6 deep, used as a dict key,
overflows the C stack (SIGSEGV) the moment ``SETITEM`` stores it. :class:`NestingDepth` records
the depth of every container the unpickler builds (``1 +`` the deepest item, leaves are 0) and
refuses, with :class:`~.errors.RefusedError`, any container or dict/set insertion that would
pass :data:`~.limits.MAX_NESTING`, before the container is made or a key hashed.

Hashing a tuple also visits every item of every tuple inside it, once per occurrence: the memo
lets a pickle of a few hundred bytes reuse one tuple twice per level, so a tuple 40 levels deep
would take 2^40 steps to hash. Each tuple's item count with repeats (its *weight*) is recorded
too and bounded by :data:`~.limits.MAX_TUPLE_ITEMS`.

Tuples and frozensets are immutable and built from finished items, so their recorded depth is
exact, and no tuple deeper than the limit ever exists: hashing stays shallow. Lists, dicts and
sets may still grow after they were placed in another container (through the memo); their
growth updates their own depth only, and the walk of :mod:`.plain` (Python recursion, bounded
at the same limit, cycles refused) checks the final data.
"""

from __future__ import annotations

from typing import Any

from furpe_label.experts.safe_load.errors import RefusedError
from furpe_label.experts.safe_load.limits import MAX_NESTING, MAX_TUPLE_ITEMS

_LEAVES = (type(None), bool, int, float, complex, str, bytes)


class NestingDepth:
    """Depths of the containers of one unpickling (kept alive so that ids stay unique)."""

    def __init__(self, limit: int = MAX_NESTING) -> None:
        self.limit = limit
        self._depths: dict[int, int] = {}
        self._weights: dict[int, int] = {}
        self._keep_alive: list[Any] = []

    def of(self, value: Any) -> int:
        """Recorded depth of ``value`` (0 for leaves and objects not built as containers)."""
        if isinstance(value, _LEAVES):
            return 0
        return self._depths.get(id(value), 0)

    def holding(self, items: Any, opcode: str) -> int:
        """Depth of a container holding ``items``; refused when it would pass the limit."""
        deepest = 0
        depths = self._depths
        for item in items:
            if not isinstance(item, _LEAVES):
                deepest = max(deepest, depths.get(id(item), 0))
        if deepest + 1 > self.limit:
            raise RefusedError(
                f"containers nested deeper than {self.limit} levels ({opcode}; the limit is "
                "MAX_NESTING in furpe_label.experts.safe_load.limits)"
            )
        return deepest + 1

    def made(self, container: Any, depth: int) -> Any:
        """Record a new container of ``depth``; returns it."""
        if type(container) is tuple:
            weights = self._weights
            weight = len(container) + sum(weights.get(id(item), 0) for item in container)
            if weight > MAX_TUPLE_ITEMS:
                raise RefusedError(
                    f"a tuple reaching {weight} items through nested (repeated) tuples, more "
                    f"than {MAX_TUPLE_ITEMS} (MAX_TUPLE_ITEMS in "
                    "furpe_label.experts.safe_load.limits)"
                )
            weights[id(container)] = weight
        if id(container) not in self._depths:
            self._keep_alive.append(container)
        self._depths[id(container)] = depth
        return container

    def grew(self, container: Any, items: Any, opcode: str) -> None:
        """``items`` are about to be added to ``container``: check and record its new depth."""
        depth = self.holding(items, opcode)
        if depth > self._depths.get(id(container), 0):
            self.made(container, depth)

"""Test doubles: pickles that set a state on a ``collections.OrderedDict`` (pickle ``BUILD``).

``torch.save(module.state_dict())`` sets ``{'_metadata': <version table>}`` this way, which the
safe loader accepts (checked, then dropped). :class:`OrderedDictWithState` pickles as
``OrderedDict()`` + its items + ``BUILD`` with *any* state, so the tests can hand the loader
every other state an attacker might write, through ``torch.save`` (both formats) or
``pickle.dumps``, with the opcodes Python itself emits.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch


class OrderedDictWithState:
    """Pickles as ``OrderedDict(items)`` whose ``BUILD`` state is ``state`` (never None)."""

    def __init__(self, state: Any, items: tuple[tuple[Any, Any], ...] = ()) -> None:
        self.state = state
        self.items = items

    def __reduce__(self) -> tuple[Any, ...]:
        return OrderedDict, (), self.state, None, iter(self.items)


def nested_dicts(depth: int) -> dict:
    """``{'level': {'level': ... {'version': 1}}}`` with ``depth`` dict levels."""
    value: dict = {"version": 1}
    for _ in range(depth - 1):
        value = {"level": value}
    return value


def shared_lists(levels: int, width: int) -> list:
    """``levels`` nested lists, each holding ``width`` references to the one below: width **
    levels paths through ``levels * width`` objects (exponential for a walk without memo)."""
    value: list = [1]
    for _ in range(levels):
        value = [value] * width
    return value


def typed_storage(numel: int) -> torch.storage.TypedStorage:
    """A float storage of ``numel`` zeros (``torch.save`` writes it as a persistent id)."""
    untyped = torch.zeros(numel).untyped_storage()
    return torch.storage.TypedStorage(wrap_storage=untyped, dtype=torch.float32, _internal=True)

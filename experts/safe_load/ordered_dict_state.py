"""The one object state a pickle may set on a ``collections.OrderedDict``: plain attributes.

``torch.save(module.state_dict())`` pickles the ``OrderedDict`` that ``state_dict()`` returns
together with its ``_metadata`` attribute, the per-module version table
(``OrderedDict([('', {'version': 1}), ('bn1', {'version': 2}), ...])``): ``OrderedDict``'s
``__reduce__`` hands its instance ``__dict__`` to the pickle, which sets it with ``BUILD``
(Python 2's ``OrderedDict`` does the same, without its private ``__root``/``__map``). Every
official checkpoint (SPIN, DECA, FrankMocap) holds such a state, in both torch formats.

The state is checked here and then *dropped*, never applied: nothing calls ``__setstate__`` or
writes ``__dict__``, and the loader's result is the tensors alone (what the project's loaders
use). The version table matters to ``load_state_dict`` only for BatchNorm files written before
PyTorch 0.4.1 (version < 2, no ``num_batches_tracked``), which the checkpoint key policy
already tolerates (``experts/networks/checkpoints.py``).

Accepted: ``None`` or a ``dict`` whose keys are attribute names (identifiers not starting
with ``__``, so never ``__class__`` or ``__dict__``) and whose values are plain data: ``None``,
booleans, ints, floats, strings, and dicts / ``OrderedDict`` (string keys), lists and tuples of
these, at most :data:`MAX_STATE_DEPTH` levels deep. Anything else (a tensor, a storage, an
array, a class, a ``(state, slotstate)`` pair) is refused.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from furpe_label.experts.safe_load.errors import RefusedError

#: levels below the state dict itself (``_metadata`` -> per-module dict -> version needs 2).
MAX_STATE_DEPTH = 8
_LEAVES = (type(None), bool, int, float, str)


def check_ordered_dict_state(state: Any) -> None:
    """Accept ``state`` (to be dropped) or raise :class:`RefusedError` saying what is wrong."""
    if state is None:
        return
    if type(state) is not dict:
        raise RefusedError(
            f"the pickle sets the state of a collections.OrderedDict object to a "
            f"{_kind(state)} (only a dict of plain attributes such as '_metadata')"
        )
    for name in state:
        if type(name) is not str or not name.isidentifier() or name.startswith("__"):
            raise RefusedError(
                f"the pickle sets the attribute {name!r} of a collections.OrderedDict object "
                "(only plain attribute names such as '_metadata')"
            )
    _check_plain(state, "state", 0, set())


def _check_plain(value: Any, where: str, depth: int, seen: set[int]) -> None:
    """Walk ``value`` (each container once, so shared references cannot make it exponential)."""
    if type(value) in _LEAVES:
        return
    if type(value) not in (dict, OrderedDict, list, tuple):
        raise RefusedError(
            f"the pickle sets a collections.OrderedDict attribute holding a {_kind(value)} at "
            f"{where} (only numbers, strings and containers of them)"
        )
    if depth > MAX_STATE_DEPTH:
        raise RefusedError(
            f"the pickle sets a collections.OrderedDict attribute nested deeper than "
            f"{MAX_STATE_DEPTH} levels at {where}"
        )
    if id(value) in seen:
        return
    seen.add(id(value))
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]", depth + 1, seen)
        return
    for key, item in value.items():
        if type(key) is not str:
            raise RefusedError(
                f"the pickle sets a collections.OrderedDict attribute with the key {key!r} "
                f"at {where} (only string keys)"
            )
        _check_plain(item, f"{where}[{key!r}]", depth + 1, seen)


def _kind(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"

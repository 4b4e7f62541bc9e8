"""Typed reading of parsed JSON annotation values: one place that checks every field's type.

Every JSON reader (COCO-style, Human3.6M, OCHuman, PoseTrack, EFT) takes its fields through
these functions instead of indexing the parsed data directly, so a value of the wrong type
(``file_name`` an int or null, ``id`` a list, ``image_id`` a dict, ``images: [1, 2]``,
``frame_idx`` "abc") raises :class:`DatasetError` with one sentence naming the file, the
place and what was found ("<file>: expected a string file_name at images[3], got int"),
never a ``TypeError`` from deep inside a reader.

A :class:`Place` is where a value sits: the file and a JSONPath-like location
(``images[3]``, ``annotations[7].bbox``).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from furpe_label.workflows.datasets.readers import DatasetError

Identifier = int | str
"""A JSON id: an integer or a string (COCO's ``id`` / ``image_id``, OCHuman's ``image_id``)."""

_TYPE_NAMES = {
    type(None): "null",
    bool: "a boolean",
    int: "int",
    float: "float",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def type_name(value: Any) -> str:
    """JSON's name of ``value``'s type, as the messages say it (``int``, ``null``, ``a list``)."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Place:
    """Where a value is: ``file`` and a location inside it (empty: the top level)."""

    file: Path | str
    at: str = ""

    def __str__(self) -> str:
        return f"{self.file}: {self.at}" if self.at else str(self.file)

    def key(self, name: str) -> Place:
        """The place of member ``name`` of the object here."""
        return Place(self.file, f"{self.at}.{name}" if self.at else name)

    def index(self, position: int) -> Place:
        """The place of element ``position`` of the list here."""
        return Place(self.file, f"{self.at}[{position}]")

    def error(self, expected: str, got: Any) -> DatasetError:
        """ "<file>: expected <expected> at <location>, got <type>"."""
        where = f" at {self.at}" if self.at else ""
        return DatasetError(f"{self.file}: expected {expected}{where}, got {type_name(got)}")


def as_object(value: Any, place: Place) -> dict[str, Any]:
    """``value`` when it is a JSON object, else :class:`DatasetError`."""
    if not isinstance(value, dict):
        raise place.error("an object", value)
    return value


def as_list(value: Any, place: Place) -> list[Any]:
    """``value`` when it is a JSON list, else :class:`DatasetError`."""
    if not isinstance(value, list):
        raise place.error("a list", value)
    return value


def objects(value: Any, place: Place) -> list[tuple[Place, dict[str, Any]]]:
    """A list of objects as (place of each, object); any element not an object is refused."""
    return [
        (place.index(i), as_object(item, place.index(i)))
        for i, item in enumerate(as_list(value, place))
    ]


def member(obj: dict[str, Any], name: str, place: Place) -> Any:
    """``obj[name]``; a missing key raises :class:`DatasetError` naming it and the keys found."""
    if name not in obj:
        found = ", ".join(sorted(map(str, obj))[:20]) or "none"
        raise DatasetError(f"{place}: missing keys [{name!r}] (found: {found})")
    return obj[name]


def text(obj: dict[str, Any], name: str, place: Place) -> str:
    """A required non-empty string member (``file_name``, ``imageName``)."""
    value = member(obj, name, place)
    if not isinstance(value, str) or not value:
        raise place.error(f"a non-empty string {name}", value)
    return value


def identifier(obj: dict[str, Any], name: str, place: Place) -> Identifier:
    """A required id member: an integer or a string (never a bool, float, list or object)."""
    value = member(obj, name, place)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise place.error(f"an integer or string {name}", value)
    return value


INT64_RANGE = (-(2**63), 2**63 - 1)


def integer(obj: dict[str, Any], name: str, place: Place) -> int:
    """A required integer member that fits in 64 bits (an integral float such as ``5.0`` is
    taken as 5)."""
    value = member(obj, name, place)
    whole = isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer())
    if isinstance(value, bool) or not whole:
        raise place.error(f"an integer {name}", value)
    number = int(value)
    if not INT64_RANGE[0] <= number <= INT64_RANGE[1]:
        where = f" at {place.at}" if place.at else ""
        digits = len(str(abs(number)))
        raise DatasetError(
            f"{place.file}: {name}{where} has {digits} digits, beyond a 64-bit integer"
        )
    return number


def optional_integer(obj: dict[str, Any], name: str, place: Place, default: int) -> int:
    """An integer member that may be absent or null (then ``default``)."""
    return default if obj.get(name) is None else integer(obj, name, place)


def names(value: Any, place: Place) -> tuple[str, ...]:
    """A list of strings (keypoint names)."""
    items = as_list(value, place)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise place.index(i).error("a keypoint name (string)", item)
    return tuple(items)

"""Shared reading of COCO-style JSON (``images`` + ``annotations``), checked with named errors.

Used by COCO-WholeBody, OCHuman's COCO-format files, PoseTrack and Human3.6M's JSON files.
Every field is read through :mod:`.json_fields`, so a value of the wrong type is refused with a
sentence naming the file and the place.

**Duplicate image ids refuse the file.** An annotation names its image only by ``image_id``;
when two ``images`` entries share an id, every annotation of that id could belong to either, and
no rule (first wins, last wins) is right for all of them. Rather than label people against a
guessed image, the file is refused with a sentence naming it, the id and both entries, so it is
fixed once (the public releases have unique ids) before a long run starts; ``furpe-label check``
shows the same sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from furpe_label.workflows.datasets.json_fields import (
    Identifier,
    Place,
    as_object,
    identifier,
    member,
    names,
    objects,
    text,
)
from furpe_label.workflows.datasets.readers import DatasetError


@dataclass(frozen=True)
class CocoPerson:
    """One annotation with its image.

    Attributes:
        ann: the annotation object.
        image: its image object (``id`` and ``file_name`` checked).
        person: its index among the annotations of that image, in file order.
        place: where the annotation is (``annotations[<i>]``).
        image_place: where the image entry is (for messages about its fields).
    """

    ann: dict[str, Any]
    image: dict[str, Any]
    person: int
    place: Place
    image_place: Place

    @property
    def where(self) -> str:
        """ "<file>: annotations[<i>]" for error messages."""
        return str(self.place)

    @property
    def file_name(self) -> str:
        """The image's ``file_name`` (a non-empty string, checked when the file was indexed)."""
        return self.image["file_name"]


def image_index(
    images: Any, place: Place, image_keys: tuple[str, ...] = ("id", "file_name")
) -> dict[Identifier, tuple[Place, dict[str, Any]]]:
    """``images`` by id: id -> (place, image object).

    Raises:
        DatasetError: ``images`` not a list of objects, an ``id`` that is no integer or string,
            a ``file_name`` that is no non-empty string, a missing key of ``image_keys``, or an
            id used twice (see the module docstring).
    """
    index: dict[Identifier, tuple[Place, dict[str, Any]]] = {}
    first_seen: dict[Identifier, str] = {}
    for position, image in objects(images, place):
        image_id = identifier(image, "id", position)
        where = Place(position.file, f"{position.at}, image {image_id}")
        text(image, "file_name", where)
        for key in image_keys:
            member(image, key, where)
        if image_id in index:
            first = (first_seen[image_id], index[image_id][1]["file_name"])
            raise duplicate_id_error(place.file, image_id, first, (position.at, image["file_name"]))
        index[image_id] = (where, image)
        first_seen[image_id] = position.at
    return index


def duplicate_id_error(
    file: Path | str, image_id: Identifier, first: tuple[str, str], second: tuple[str, str]
) -> DatasetError:
    """The refusal of a file whose images ``first`` and ``second`` ((location, file_name)
    each) share ``image_id`` (see the module docstring)."""
    return DatasetError(
        f"{file}: image id {image_id!r} is used by both {first[0]} ({first[1]!r}) and "
        f"{second[0]} ({second[1]!r}); an annotation's image_id cannot say which it means, "
        "so the file is refused: give every image its own id"
    )


def coco_annotations(
    data: Any, path: Path, image_keys: tuple[str, ...] = ("id", "file_name")
) -> Iterator[CocoPerson]:
    """Each annotation with its image and its index among that image's annotations.

    Raises:
        DatasetError: missing or mistyped ``images`` / ``annotations`` lists, an image or
            annotation lacking a required key or holding one of the wrong type, a duplicate
            image id, or an ``image_id`` not among the images.
    """
    top = Place(path)
    data = as_object(data, top)
    images = image_index(member(data, "images", top), top.key("images"), image_keys)
    per_image: dict[Identifier, int] = {}
    for where, ann in objects(member(data, "annotations", top), top.key("annotations")):
        image_id = identifier(ann, "image_id", where)
        found = images.get(image_id)
        if found is None:
            raise DatasetError(f"{where}: image_id {image_id!r} is not in 'images'")
        person = per_image.get(image_id, 0)
        per_image[image_id] = person + 1
        yield CocoPerson(ann, found[1], person, where, found[0])


def category_keypoint_names(data: Any, path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    """Keypoint names of the person category (``categories[0].keypoints``), else ``default``."""
    categories = data.get("categories") if isinstance(data, dict) else None
    if isinstance(categories, list) and categories and isinstance(categories[0], dict):
        found = categories[0].get("keypoints")
        if isinstance(found, list) and found:
            return names(found, Place(path, "categories[0].keypoints"))
    return default

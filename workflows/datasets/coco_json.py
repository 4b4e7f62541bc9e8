"""Shared reading of COCO-style JSON (``images`` + ``annotations``), checked with named errors.

Used by COCO-WholeBody, OCHuman's COCO-format files and PoseTrack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from furpe_label.workflows.datasets.readers import DatasetError, require_keys


def coco_annotations(
    data: Any, path: Path, image_keys: tuple[str, ...] = ("id", "file_name")
) -> Iterator[tuple[dict, dict, int, str]]:
    """Each annotation with its image, its index among that image's annotations, and a
    location string for error messages ("<file>: annotation <id>").

    Raises:
        DatasetError: missing ``images`` / ``annotations`` lists, an image or annotation
            lacking a required key, or an ``image_id`` not among the images.
    """
    require_keys(data, ("images", "annotations"), str(path))
    if not isinstance(data["images"], list) or not isinstance(data["annotations"], list):
        raise DatasetError(f"{path}: 'images' and 'annotations' must be lists")
    images = {}
    for image in data["images"]:
        where = f"{path}: image {image.get('id', '?') if isinstance(image, dict) else '?'}"
        require_keys(image, image_keys, where)
        images[image["id"]] = image
    per_image: dict[Any, int] = {}
    for ann in data["annotations"]:
        where = f"{path}: annotation {ann.get('id', '?') if isinstance(ann, dict) else '?'}"
        require_keys(ann, ("image_id",), where)
        image = images.get(ann["image_id"])
        if image is None:
            raise DatasetError(f"{where}: image_id {ann['image_id']} is not in 'images'")
        person = per_image.get(ann["image_id"], 0)
        per_image[ann["image_id"]] = person + 1
        yield ann, image, person, where


def category_keypoint_names(data: dict, path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    """Keypoint names of the person category (``categories[0].keypoints``), else ``default``."""
    categories = data.get("categories")
    if isinstance(categories, list) and categories and isinstance(categories[0], dict):
        names = categories[0].get("keypoints")
        if isinstance(names, list) and names:
            if not all(isinstance(n, str) for n in names):
                raise DatasetError(f"{path}: categories[0].keypoints must be names")
            return tuple(names)
    return default

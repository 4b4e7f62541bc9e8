"""Malformed OpenPose JSON files made from SPIN's real OpenPose 1.2 output (im1010), each with
the words its ``keypoints_file_invalid`` detail must contain (beside the file's path)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.real_data import SPIN_EXAMPLE

DEEP_LEVELS = 100_000
"""Nesting depth of the ``deep`` case (the issue's 10^5)."""


def _real() -> dict:
    return json.loads((SPIN_EXAMPLE / "im1010_openpose.json").read_text())


def _with_body(values: object) -> str:
    data = _real()
    data["people"][0]["pose_keypoints_2d"] = values
    return json.dumps(data)


def malformed_openpose_files() -> dict[str, tuple[str, str]]:
    """name -> (file content, words of the problem the detail must name)."""
    body = _real()["people"][0]["pose_keypoints_2d"]
    string_value = [*body[:3], "abc", *body[4:]]
    deep = '{"version": 1.3, "people": [{"pose_keypoints_2d": ' + "[" * DEEP_LEVELS
    deep += "]" * DEEP_LEVELS + "}]}"
    return {
        "string_value": (_with_body(string_value), "pose_keypoints_2d[3] is the string 'abc'"),
        "dict_for_list": (_with_body({"x": 1.0}), "pose_keypoints_2d is an object"),
        "deep_nesting": (deep, "nested too deeply"),
        "wrong_length": (_with_body(body[:72]), "24 triplets, expected 25"),
        "infinite_value": (
            _with_body([*body[:3], float("inf"), *body[4:]]).replace("Infinity", "1e999"),
            "pose_keypoints_2d[3] is inf, not a finite",
        ),
    }


def write_malformed(folder: Path, suffix: str = "_keypoints.json") -> dict[str, tuple[Path, str]]:
    """Write every malformed file as ``folder/<name><suffix>``: name -> (path, problem)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (content, problem) in malformed_openpose_files().items():
        path = folder / f"{name}{suffix}"
        path.write_text(content)
        written[name] = (path, problem)
    return written

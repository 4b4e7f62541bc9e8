"""The selection file: one function pair writes and reads it; a bad file is refused with a
sentence that names the file and what is wrong."""

from __future__ import annotations

import json

import pytest

from furpe_label.selection import SelectionConfig
from furpe_label.selection.selection_file import (
    read_selection_file,
    resolve_selection,
    write_selection_file,
)


@pytest.mark.parametrize(
    "config",
    [
        SelectionConfig(),
        SelectionConfig.furpe(),
        SelectionConfig(min_count=20, max_mse=0.05, mse_frame="px", max_betas_norm=None),
        SelectionConfig(max_wrist_twist_rad=0.75, max_crop_outside_fraction=0.4),
    ],
)
def test_round_trip(tmp_path, config):
    path = write_selection_file(tmp_path / "selection.json", config)
    assert read_selection_file(path) == config
    assert set(json.loads(path.read_text())) == set(config.to_dict())  # every field written


def test_a_partial_file_takes_the_defaults_and_null_turns_a_rule_off(tmp_path):
    path = tmp_path / "partial.json"
    path.write_text(json.dumps({"max_mse": 0.05, "max_head_disagreement_rad": None}))
    config = read_selection_file(path)
    assert config == SelectionConfig(max_mse=0.05, max_head_disagreement_rad=None)


def test_presets(tmp_path):
    assert resolve_selection("default") == SelectionConfig()
    assert resolve_selection("furpe") == SelectionConfig.furpe()
    path = write_selection_file(tmp_path / "mine.json", SelectionConfig(min_count=30))
    assert resolve_selection(path) == SelectionConfig(min_count=30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object of selection settings, not list"),
        ('{"max_error": 1}', r"unknown settings \['max_error'\]; the settings are body_threshold"),
        ('{"min_count": 12.5}', "min_count must be a whole number, got 12.5"),
        ('{"max_mse": true}', "max_mse must be a number, got True"),
        ('{"max_mse": -1}', "max_mse must be a finite positive number, got -1"),
        ('{"max_betas_norm": "high"}', "max_betas_norm must be a finite number >= 0, or null"),
        ('{"mse_frame": "cm"}', "mse_frame must be 'norm' or 'px'"),
        ('{"body_threshold": 2}', r"body_threshold must be a confidence in \(0, 1\]"),
    ],
)
def test_bad_files_are_refused_with_a_sentence(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_selection_file(path)
    assert str(path) in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"selection file .*nothing\.json does not exist"):
        read_selection_file(tmp_path / "nothing.json")

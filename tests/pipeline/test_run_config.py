"""The run configuration: typed members, one default each, serialised and hashed deterministically,
and a resume with other member settings refused naming each difference."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys

import pytest

from furpe_label.experts.fusion.config import WRIST_RULES, FusionConfig
from furpe_label.experts.networks.layout import EXPERTS_ENV
from furpe_label.pipeline.config import RunConfig, RunResources
from furpe_label.pipeline.decode import DecodeLimits
from furpe_label.selection import (
    DECISION_COLUMNS,
    METRIC_COLUMNS,
    STEPS,
    WHAT_IF_KEYS,
    SelectionConfig,
)
from furpe_label.selection.config import step_of
from furpe_label.storage.run_dir import RunDir
from furpe_label.storage.run_info import RunConfigChangedError, RunInfo, config_hash
from furpe_label.storage.schema import AUDIT_FIELDS
from furpe_label.workflows.cli import check
from furpe_label.workflows.run_cli import run


def _config(**changes) -> RunConfig:
    base = RunConfig(
        dataset="image-folder",
        root="/data/photos",
        shard_size=4,
        selection=SelectionConfig(max_mse=0.5, min_count=20),
        fusion=FusionConfig(wrist="copy-paste", head_from_face=True),
        decode_limits=DecodeLimits(min_side=32, max_side=4096),
    )
    return dataclasses.replace(base, **changes)


def test_config_survives_json_and_pickle_and_hashes_the_same_in_another_process():
    config = _config()
    data = json.loads(json.dumps(config.as_dict()))
    assert data["selection"]["max_mse"] == 0.5 and data["fusion"]["wrist"] == "copy-paste"
    assert data["decode_limits"] == {"min_side": 32, "max_side": 4096}
    assert RunConfig.from_dict(data) == config
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(config) == hash(_config()) and len({config, _config()}) == 1
    script = (
        "import sys; from furpe_label.storage.run_info import config_hash; "
        "from tests.pipeline.test_run_config import _config; "
        "sys.stdout.write(config_hash(_config().as_dict()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    assert other.stdout == config_hash(config.as_dict())


def test_resume_with_other_member_settings_names_each_difference(tmp_path):
    def info(config: RunConfig) -> RunInfo:
        return RunInfo(
            config=config.as_dict(),
            code_version="test",
            synthetic=True,
            detector="mediapipe",
            experts={"body": "fit-smpl"},
        )

    run_dir = RunDir(tmp_path)
    run_dir.start(info(_config()))
    assert run_dir.start(info(_config())) == info(_config())
    changed = _config(
        shard_size=8,
        selection=SelectionConfig(max_mse=0.05, min_count=20),
        fusion=FusionConfig(wrist="furpe", head_from_face=True),
        decode_limits=DecodeLimits(min_side=32, max_side=8192),
    )
    with pytest.raises(RunConfigChangedError) as error:
        run_dir.start(info(changed))
    message = str(error.value)
    assert "config.shard_size: 4 -> 8" in message
    assert "config.selection.max_mse: 0.5 -> 0.05" in message
    assert "config.fusion.wrist: 'copy-paste' -> 'furpe'" in message
    assert "config.decode_limits.max_side: 4096 -> 8192" in message
    assert "min_count" not in message and "head_from_face" not in message


def test_older_flat_run_json_reads_and_unknown_settings_are_named():
    older = {
        "dataset": "samples",
        "shard_size": 4,
        "wrist": "furpe",
        "head_from_face": True,
        "selection": {},
        "max_side": 4096,
        "min_side": 16,
    }
    config = RunConfig.from_dict(older)
    assert config.fusion == FusionConfig(wrist="furpe", head_from_face=True)
    assert config.decode_limits == DecodeLimits(max_side=4096)
    assert config.selection == SelectionConfig()
    with pytest.raises(ValueError, match=r"unknown run settings \['seed', 'fusion.rule'\]"):
        RunConfig.from_dict({"dataset": "samples", "seed": 1, "fusion": {"rule": "furpe"}})
    with pytest.raises(ValueError, match=r"unknown selection settings \['max_error'\]"):
        SelectionConfig.from_dict({"max_error": 1.0})


def test_members_are_typed():
    with pytest.raises(TypeError, match=r"RunConfig\.selection must be a SelectionConfig"):
        RunConfig(dataset="samples", selection={"max_mse": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown wrist rule"):
        RunConfig(dataset="samples", fusion=FusionConfig(wrist="paste"))  # type: ignore[arg-type]


def test_the_command_line_defaults_are_the_library_defaults():
    options = {param.name: param for param in run.params}
    library = RunConfig(dataset="samples")
    assert options["shard_size"].default == library.shard_size
    assert options["fitting_iterations"].default == library.fitting_iterations
    assert options["wrist"].default == library.fusion.wrist == FusionConfig().wrist
    assert tuple(options["wrist"].type.choices) == WRIST_RULES
    assert options["batch_size"].default == RunResources().batch_size
    assert options["experts_dir"].envvar == EXPERTS_ENV
    assert {param.name: param for param in check.params}["experts_dir"].envvar == EXPERTS_ENV


def test_selection_fields_name_their_step_and_the_what_if_keys_follow():
    scoring = set(SelectionConfig().scoring_parameters())
    assert scoring == {"body_threshold", "hand_threshold", "face_threshold"}
    for field in dataclasses.fields(SelectionConfig):
        step = step_of(field.name)
        assert (step is None) == (field.name in scoring), field.name
        if step is not None:
            assert step in STEPS and WHAT_IF_KEYS[f"{step}.{field.name}"] == field.name
    assert len(WHAT_IF_KEYS) == len(dataclasses.fields(SelectionConfig)) - len(scoring)
    with pytest.raises(KeyError, match="'seed' is not a SelectionConfig field"):
        step_of("seed")


def test_every_selection_column_is_grouped_under_its_step_in_the_audit():
    audit = {field.name: field for field in AUDIT_FIELDS}
    for name, column in (*METRIC_COLUMNS.items(), *DECISION_COLUMNS.items()):
        assert column.group in STEPS and audit[name] == column, name
    assert {audit[n].group for n in METRIC_COLUMNS if n.startswith("n_confident")} == {"step1"}
    assert {audit[n].group for n in METRIC_COLUMNS if n.startswith("reproj")} == {"step3"}
    assert [
        audit[f"status_{part}"].group for part in ("body", "face", "left_hand", "right_hand")
    ] == ["step2"] * 4

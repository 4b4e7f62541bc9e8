"""`furpe-label run` end to end (inline executor): every input ends in the audit with a named
reason or a label, the store agrees with the audit, resume skips finished shards, a changed
config refuses, a second run on the same OUT refuses, the audit command and its what-if work."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from furpe_label.experts.vocabulary import Reason
from furpe_label.storage.run_lock import RunLock
from furpe_label.workflows.audit import load_audit, recompute
from furpe_label.workflows.audit import parse_what_if as what_if_config
from tests.support.doubles.official_checkpoints import write_experts_folder
from tests.support.pipeline_support import (
    BAD_FILES,
    audit_frame,
    image_folder_with_bad_files,
    run_cli,
    spin_layout_h36m,
    store_arrays,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory) -> Path:
    return write_experts_folder(tmp_path_factory.mktemp("experts"), seed=0)


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory, experts_dir) -> tuple[Path, Path, list[str]]:
    root = image_folder_with_bad_files(tmp_path_factory.mktemp("images"))
    out = tmp_path_factory.mktemp("runs") / "folder"
    args = [
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(root),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--experts",
        str(experts_dir),
        "--executor",
        "inline",
        "--shard-size",
        "4",
    ]
    code, output = run_cli(*args)
    assert code == 0, output
    return root, out, args


def test_every_input_has_an_audit_row_with_a_named_reason(folder_run):
    root, out, _ = folder_run
    frame = audit_frame(out)
    assert frame["sample_idx"].tolist() == list(range(len(frame)))
    images = {Path(p).name for p in frame["image_path"]}
    assert {p.name for p in root.iterdir()} <= images  # nothing disappeared
    for name, reason in BAD_FILES.items():
        rows = frame[frame["image_path"].map(lambda p, n=name: Path(p).name == n)]
        assert rows["drop_reason"].astype(str).tolist() == [reason], name
        assert rows["drop_stage"].astype(str).tolist() == ["input"] and rows["drop_detail"].iloc[0]
        assert rows["drop_step"].isna().all()  # input failures are none of FuRPE's steps
    converted = frame[frame["image_path"].str.contains("grey|rgba|camera16")]
    assert not converted["drop_reason"].astype(str).isin([r for r in BAD_FILES.values()]).any()
    assert set(frame["drop_reason"].astype(str)) <= {r.value for r in Reason}


def test_store_agrees_with_the_audit(folder_run):
    _, out, _ = folder_run
    frame, arrays = audit_frame(out), store_arrays(out)
    kept = (frame["drop_stage"] == "kept").to_numpy()
    np.testing.assert_array_equal(arrays["valid"], kept)
    assert kept.any(), "the real photos give at least one kept label"
    assert np.isfinite(arrays["body_pose"][kept]).all()
    assert np.isnan(arrays["body_pose"][~kept]).all()
    assert not arrays["part_valid"][~kept].any()
    assert arrays["feature_body"].dtype == np.float16
    assert np.isfinite(arrays["feature_body"][kept].astype(np.float32)).all()


def test_resume_skips_finished_shards_and_changed_config_refuses(folder_run):
    _, out, args = folder_run
    before = audit_frame(out)
    code, output = run_cli(*args)
    assert code == 0 and "already complete" in output
    assert audit_frame(out).equals(before)
    changed = [*args[:-1], "8"]  # another shard size
    code, output = run_cli(*changed)
    assert code == 1 and "config.shard_size: 4 -> 8" in output and "Traceback" not in output


def _hold_lock(out: str, ready, release) -> None:
    with RunLock(Path(out)):
        ready.set()
        release.wait(30)


def test_a_second_run_on_the_same_out_refuses(folder_run):
    _, out, args = folder_run
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(out), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        code, output = run_cli(*args)
        assert code == 1 and "Traceback" not in output
        assert "another" in output.lower() or "lock" in output.lower(), output
    finally:
        release.set()
        holder.join(30)


def test_audit_command_and_what_if(folder_run):
    _, out, _ = folder_run
    code, output = run_cli("audit", str(out))
    assert code == 0 and "funnel" in output and "image_unreadable" in output
    assert Reason.IMAGE_UNREADABLE.meaning in output
    code, output = run_cli(
        "audit", str(out), "--what-if", "step3.max_mse=1e9", "--what-if", "step1.min_count=1"
    )
    assert code == 0 and "what-if" in output
    table, base = load_audit(out)
    loose = recompute(table, base, what_if_config(["step3.max_mse=1e9"], base))
    stored = audit_frame(out)
    assert (loose["drop_stage"] == "kept").sum() >= (stored["drop_stage"] == "kept").sum()
    code, output = run_cli("audit", str(out), "--what-if", "step9.x=1")
    assert code != 0 and "step3.max_mse" in output


def test_h36m_spin_layout_run_with_ground_truth_error(tmp_path):
    """Every row that reached fusion gets a ground-truth error, kept or not; the others none."""
    root = spin_layout_h36m(tmp_path / "h36m", drops=True)
    out = tmp_path / "h36m-run"
    code, output = run_cli(
        "run",
        "--dataset",
        "h36m",
        "--root",
        str(root),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--detector",
        "ground-truth",
        "--executor",
        "inline",
    )
    assert code == 0, output
    frame = audit_frame(out).set_index("subject")
    assert sorted(frame.index) == ["S1", "S11", "S5", "S6", "S9"]
    stages = frame["drop_stage"].astype(str).to_dict()
    assert stages == {
        "S11": "input",  # the missing image
        "S1": "kept",
        "S5": "keypoints",  # no confident keypoint
        "S6": "reprojection",  # fused, then dropped: the head at the feet
        "S9": "kept",
    }
    for name in ("gt_mpjpe_mm", "gt_pa_mpjpe_mm"):
        errors = frame[name]
        assert np.isfinite(errors[["S1", "S9", "S6"]].to_numpy(np.float64)).all(), name
        assert errors[["S11", "S5"]].isna().all(), name
    code, output = run_cli("audit", str(out))
    assert code == 0 and "gt_mpjpe_mm (kept)" in output
    assert "gt_mpjpe_mm (dropped after fusion)" in output


def test_dataset_without_models_refuses_before_any_work(tmp_path, monkeypatch):
    monkeypatch.delenv("FURPE_MODELS", raising=False)
    code, output = run_cli(
        "run", "--dataset", "image-folder", "--root", str(tmp_path), "--out", str(tmp_path / "out")
    )
    assert code == 2 and "smpl-x.is.tue.mpg.de" in output and "--models synthetic" in output
    assert not (tmp_path / "out").exists()

"""`furpe-label check --dataset`: what the run would read, before any work."""

from __future__ import annotations

import json
import os

from furpe_label.pipeline.decode import decode_image
from tests.support.pipeline_support import run_cli, spin_layout_h36m


def test_check_reports_a_spin_layout_dataset(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    os.remove(root / "images" / "S9_Walking.60457274_000006.jpg")
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(root), "--json")
    assert code == 0, output
    found = json.loads(output)["dataset"]
    assert found["person_instances"] == 2 and found["files"] == 2
    assert found["files_missing"] == 1 and "S9_Walking" in found["missing_examples"][0]
    assert found["rows_with"]["joints3d"] == 2
    assert found["annotations"][0].endswith("h36m_train.npz")


def test_check_names_an_unreadable_dataset(tmp_path):
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(tmp_path / "none"))
    assert code == 1 and "does not exist" in output
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "h36m_train.npz").write_text("not an npz")
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(tmp_path / "bad"))
    assert code == 1 and "h36m_train.npz" in output


def test_check_gives_each_unusable_file_the_reason_the_run_gives_it(tmp_path):
    root = spin_layout_h36m(tmp_path / "h36m")
    images = sorted((root / "images").iterdir())
    assert len(images) == 2
    fifo, link = images
    fifo.unlink()
    os.mkfifo(fifo)
    link.unlink()
    link.symlink_to(root / "images" / "gone.jpg")  # inside the root, dangling
    code, output = run_cli("check", "--dataset", "h36m", "--root", str(root), "--json")
    found = json.loads(output)["dataset"]
    assert found["files_with_reason"] == {"image_missing": 1, "not_a_regular_file": 1}
    assert found["files_missing"] == 1 and found["missing_examples"] == [str(link)]
    assert "FIFO" in found["file_reason_examples"]["not_a_regular_file"][0]
    assert "gone.jpg" in found["file_reason_examples"]["image_missing"][0]
    for path in (fifo, link):  # the reason the run's decoder gives the same file
        reason = decode_image(path).reason.value
        assert found["file_reason_examples"][reason][0].startswith(str(path))
    assert code == 1, output  # no file of the dataset can be read: nothing to label

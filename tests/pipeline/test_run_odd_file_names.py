"""An image folder with a file name that is not UTF-8, a dangling symbolic link and a FIFO:
``check`` and ``run`` go through, the odd name is labelled and exported with its exact bytes,
the link and the FIFO get audit rows with named reasons (the FIFO is never opened)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from furpe_label.storage.path_text import path_bytes
from tests.support.pipeline_support import audit_frame, run_cli
from tests.support.real_data import SPIN_EXAMPLE

pytestmark = pytest.mark.slow

ODD = b"caf\xe9.jpg"  # Latin-1 bytes: not UTF-8


def test_odd_names_links_and_fifos_through_check_run_and_export(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", images / "good.jpg")
    odd = os.path.join(os.fsencode(images), ODD)
    shutil.copy(SPIN_EXAMPLE / "im1010.jpg", odd)
    (images / "gone.jpg").symlink_to(images / "deleted.jpg")  # dangling, inside the root
    (images / "away.jpg").symlink_to(tmp_path / "deleted.jpg")  # dangling, outside the root
    os.mkfifo(images / "pipe.jpg")
    code, output = run_cli("check", "--dataset", "image-folder", "--root", str(images))
    assert "surrogates" not in output and "person_instances: 5" in output, output
    out = tmp_path / "run"
    code, output = run_cli(
        "run",
        "--dataset",
        "image-folder",
        "--root",
        str(images),
        "--out",
        str(out),
        "--models",
        "synthetic",
        "--executor",
        "inline",
        "--fitting-iterations",
        "8",
    )
    assert code == 0, output
    frame = audit_frame(out)
    by_name = {
        path_bytes(p).rsplit(b"/", 1)[-1]: row
        for p, (_, row) in zip(frame["image_path"], frame.iterrows(), strict=True)
    }
    assert set(by_name) == {b"good.jpg", ODD, b"gone.jpg", b"away.jpg", b"pipe.jpg"}
    assert by_name[b"gone.jpg"]["drop_reason"] == "image_missing"
    assert by_name[b"away.jpg"]["drop_reason"] == "outside_root"  # resolved, never opened
    assert "deleted.jpg" in by_name[b"gone.jpg"]["drop_detail"]
    assert by_name[b"pipe.jpg"]["drop_reason"] == "not_a_regular_file"
    # the odd name is labelled exactly like the same photo under a plain name
    assert by_name[ODD]["drop_stage"] == by_name[b"good.jpg"]["drop_stage"] == "kept"
    dest = tmp_path / "export"
    code, output = run_cli("export", str(out), "--format", "expose", "--dest", str(dest))
    assert code == 0, output
    names = np.load(next(dest.rglob("*.npz")))["img_fns"].tolist()
    assert odd in names and os.fsencode(images / "good.jpg") in names

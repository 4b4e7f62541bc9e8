"""`furpe-label transfer`: good files, and every bad input refused with a clear message."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from furpe_label.experts.fusion.shape_transfer import ShapeTransfer
from furpe_label.workflows.cli import main
from tests.support.plausible_smpl import sample_smpl_bodies

N = 40


@pytest.fixture(scope="module")
def bodies():
    return {k: v.numpy() for k, v in sample_smpl_bodies(N, seed=31).items()}


def _run(models: Path, source: Path, out: Path, *extra: str):
    args = ["transfer", "--models", str(models), "--in", str(source), "--out", str(out), *extra]
    return CliRunner().invoke(main, args)


def test_good_file(synthetic_models_dir, bodies, tmp_path):
    source = tmp_path / "smpl.npz"
    np.savez(source, **{**bodies, "body_pose": bodies["body_pose"].reshape(N, 69)})
    out = tmp_path / "out" / "smplx.npz"
    result = _run(synthetic_models_dir, source, out, "--batch-size", "16")
    assert result.exit_code == 0, result.output
    assert f"{N} bodies" in result.output
    with np.load(out, allow_pickle=False) as data:  # plain arrays only
        table = {key: data[key] for key in data.files}
    shapes = {key: value.shape for key, value in table.items()}
    assert shapes == {
        "global_orient": (N, 3),
        "body_pose": (N, 21, 3),
        "betas": (N, 10),
        "transl": (N, 3),
        "transfer_error_mm": (N,),
        "provenance": (),
    }
    assert '"synthetic": true' in str(table["provenance"])
    direct = ShapeTransfer.from_models(synthetic_models_dir).transfer(
        **{k: torch.from_numpy(v) for k, v in bodies.items()}
    )
    # float32 sums differ with the batch size; the weakest shape direction (~2 mm per unit
    # beta) turns that into ~1e-4 betas, i.e. well under a micrometre on the vertices
    np.testing.assert_allclose(table["betas"], direct.betas.numpy(), atol=1e-3)
    np.testing.assert_allclose(table["transfer_error_mm"], direct.error_mm.numpy(), atol=1e-3)
    assert np.isfinite(table["transfer_error_mm"]).all() and table["transfer_error_mm"].max() < 10


def test_translation_may_be_absent(synthetic_models_dir, bodies, tmp_path):
    source = tmp_path / "smpl.npz"
    np.savez(source, **{k: v[:4] for k, v in bodies.items() if k != "transl"})
    result = _run(synthetic_models_dir, source, tmp_path / "smplx.npz")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "smplx.npz") as data:
        assert np.abs(data["transl"]).max() < 0.05  # the SMPL-X vs SMPL root offset only


def _refused(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output  # click usage error
    assert "Traceback" not in result.output and result.exception is not None
    assert "Invalid value for --in" in result.output.replace("'", "")
    for needle in needles:
        assert needle in result.output, result.output


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda b: {**b, "pose": b["body_pose"]}, ("unknown keys ['pose']",)),
        (lambda b: {k: v for k, v in b.items() if k != "betas"}, ("missing keys ['betas']",)),
        (lambda b: {**b, "body_pose": np.zeros((N, 72))}, ("'body_pose' must have shape",)),
        (lambda b: {**b, "global_orient": np.zeros((N, 4))}, ("'global_orient'",)),
        (lambda b: {**b, "transl": np.zeros((N - 1, 3))}, ("'transl'",)),
        (lambda b: {**b, "betas": np.zeros((N, 0))}, ("'betas' must have shape (N, B)",)),
        (lambda b: {**b, "betas": np.zeros((N, 10), dtype=bool)}, ("must hold numbers",)),
    ],
)
def test_bad_keys_and_shapes(synthetic_models_dir, bodies, tmp_path, change, needles):
    source = tmp_path / "smpl.npz"
    np.savez(source, **change(bodies))
    _refused(_run(synthetic_models_dir, source, tmp_path / "smplx.npz"), *needles)
    assert not (tmp_path / "smplx.npz").exists()


def test_non_finite_values(synthetic_models_dir, bodies, tmp_path):
    betas = bodies["betas"].copy()
    betas[3, 2] = np.nan
    pose = bodies["body_pose"].copy()
    pose[7, 4, 1] = np.inf
    source = tmp_path / "smpl.npz"
    np.savez(source, **{**bodies, "betas": betas})
    _refused(
        _run(synthetic_models_dir, source, tmp_path / "o.npz"), "'betas' has non-finite", "[3]"
    )
    np.savez(source, **{**bodies, "body_pose": pose})
    _refused(_run(synthetic_models_dir, source, tmp_path / "o.npz"), "'body_pose'", "[7]")


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/furpe-cli-pwned",))


def test_pickled_or_garbage_input_is_refused(synthetic_models_dir, bodies, tmp_path):
    marker = Path("/tmp/furpe-cli-pwned")
    marker.unlink(missing_ok=True)
    source = tmp_path / "smpl.npz"
    payload = np.empty((), dtype=object)
    payload[()] = _Payload()
    np.savez(source, **bodies, extra=payload)  # an object member: needs pickle to load
    _refused(_run(synthetic_models_dir, source, tmp_path / "o.npz"), "not a readable .npz")
    assert not marker.exists()
    source.write_bytes(pickle.dumps(bodies))
    _refused(_run(synthetic_models_dir, source, tmp_path / "o.npz"), "not a readable .npz")
    source.write_text("global_orient,body_pose\n")
    _refused(_run(synthetic_models_dir, source, tmp_path / "o.npz"), "not a readable .npz")


def test_models_folder_problems(bodies, tmp_path):
    source = tmp_path / "smpl.npz"
    np.savez(source, **bodies)
    result = _run(tmp_path / "nowhere", source, tmp_path / "o.npz")
    assert result.exit_code == 1 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = _run(tmp_path / "empty", source, tmp_path / "o.npz")
    assert result.exit_code == 1 and "SMPL" in result.output and "Traceback" not in result.output


def test_output_on_the_input_is_refused_also_through_links(synthetic_models_dir, bodies, tmp_path):
    """Issue 15 item 6: --out X on --in X replaced the input with the output."""
    source = tmp_path / "smpl.npz"
    np.savez(source, **bodies)
    original = source.read_bytes()
    (tmp_path / "soft.npz").symlink_to(source)
    os.link(source, tmp_path / "hard.npz")
    for out in (source, tmp_path / "soft.npz", tmp_path / "hard.npz"):
        result = _run(synthetic_models_dir, source, out)
        assert result.exit_code == 2, result.output
        assert "would replace the input" in result.output
        assert source.read_bytes() == original


def test_non_finite_results_are_refused(synthetic_models_dir, bodies, tmp_path):
    """Issue 15 item 6: betas of 3e38 gave NaN betas and translation with exit 0."""
    source = tmp_path / "smpl.npz"
    betas = bodies["betas"].copy()
    betas[3] = 3e38
    np.savez(source, **{**bodies, "betas": betas})
    out = tmp_path / "smplx.npz"
    result = _run(synthetic_models_dir, source, out)
    assert result.exit_code == 1, result.output
    assert "non-finite" in result.output and "first rows: [3]" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_header_claiming_huge_arrays_is_a_usage_error(synthetic_models_dir, bodies, tmp_path):
    """Issue 15 item 6: a member whose .npy header claims 10^13 elements gave a traceback."""
    source = tmp_path / "smpl.npz"
    np.savez(source, **bodies)

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({10**13}, 10), }}"
    header = header.ljust(118) + "\n"
    members["betas.npy"] = (
        b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    )
    with zipfile.ZipFile(source, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = _run(synthetic_models_dir, source, tmp_path / "out.npz")
    assert result.exit_code == 2, result.output
    assert "betas" in result.output and "header announces" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

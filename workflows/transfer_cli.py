"""`furpe-label transfer`: SMPL fits (SPIN, EFT, ...) -> SMPL-X parameters with the shape carried
over (closed-form betas + translation at the known pose, see
:mod:`furpe_label.experts.fusion.shape_transfer`).

Input ``.npz`` (plain arrays only, read member by member within the safe loader's size
limits; nothing in it is executed), N samples:

==================  ======================  =====================================
key                 shape                   meaning
==================  ======================  =====================================
``global_orient``   (N, 3)                  axis-angle, radians
``body_pose``       (N, 69) or (N, 23, 3)   SMPL joints 1..23, axis-angle, radians
``betas``           (N, B_smpl)             SMPL shape (B_smpl <= the model's)
``transl``          (N, 3), optional        metres (zeros when absent)
==================  ======================  =====================================

Output ``.npz`` (``smplx`` names): ``global_orient`` (N, 3), ``body_pose`` (N, 21, 3),
``betas`` (N, B), ``transl`` (N, 3), ``transfer_error_mm`` (N,) -- mean distance between the
SMPL-X vertices and the SMPL mesh mapped onto them -- and ``provenance`` (a JSON string:
model files and hashes, correspondence source, synthetic or not).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import click
import numpy as np
import torch
from tqdm import tqdm

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import MODELS_ENV, ModelsFolderError
from furpe_label.experts.bodymodels.validate import BodyModelFileError
from furpe_label.experts.fusion.shape_transfer import SMPL_BODY_JOINTS, ShapeTransfer
from furpe_label.experts.fusion.transfer_correspondence import TransferDataError
from furpe_label.experts.safe_load import NpzMembers

REQUIRED_KEYS = ("global_orient", "body_pose", "betas")
OPTIONAL_KEYS = ("transl",)


def read_smpl_npz(path: Path) -> dict[str, np.ndarray]:
    """The validated float32 arrays of an input file.

    Raises:
        click.BadParameter: unreadable, pickled objects, unknown or missing keys, wrong
            shapes, non-numeric or non-finite values (the message says which).
    """
    try:
        members = NpzMembers(path, allow_objects=False)  # members size-checked, no pickles
        arrays = {key: members[key] for key in members}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError) as error:
        raise _bad(f"{path} is not a readable .npz of plain arrays ({error})") from error
    unknown = sorted(set(arrays) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    missing = [key for key in REQUIRED_KEYS if key not in arrays]
    if unknown or missing:
        raise _bad(
            f"{path}: unknown keys {unknown}, missing keys {missing}; expected "
            f"{list(REQUIRED_KEYS)} and optionally {list(OPTIONAL_KEYS)}"
        )
    for key, value in arrays.items():
        if value.dtype.kind not in "fiu":
            raise _bad(f"{path}: '{key}' must hold numbers, found dtype {value.dtype}")
    n = arrays["global_orient"].shape[0] if arrays["global_orient"].ndim else 0
    expected = {
        "global_orient": [(n, 3)],
        "body_pose": [(n, 3 * SMPL_BODY_JOINTS), (n, SMPL_BODY_JOINTS, 3)],
        "transl": [(n, 3)],
    }
    for key, shapes in expected.items():
        if key in arrays and arrays[key].shape not in shapes:
            wanted = " or ".join(str(s).replace(f"({n},", "(N,") for s in shapes)
            raise _bad(f"{path}: '{key}' must have shape {wanted}, found {arrays[key].shape}")
    betas = arrays["betas"]
    if betas.ndim != 2 or betas.shape[0] != n or betas.shape[1] == 0:
        raise _bad(f"{path}: 'betas' must have shape (N, B) with N = {n}, found {betas.shape}")
    if n == 0:
        raise _bad(f"{path}: no samples (N = 0)")
    out = {key: value.astype(np.float32) for key, value in arrays.items()}
    for key, value in out.items():
        bad_rows = np.flatnonzero(~np.isfinite(value.reshape(n, -1)).all(axis=1))
        if bad_rows.size:
            raise _bad(
                f"{path}: '{key}' has non-finite values in {bad_rows.size} samples "
                f"(first rows: {bad_rows[:5].tolist()})"
            )
    out["body_pose"] = out["body_pose"].reshape(n, SMPL_BODY_JOINTS, 3)
    out.setdefault("transl", np.zeros((n, 3), dtype=np.float32))
    return out


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _same_file(first: Path, second: Path) -> bool:
    """True when both name one file (also through symbolic or hard links)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # the output does not exist yet
        return False


@click.command("transfer")
@click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=MODELS_ENV,
    help=f"Body-model folder with SMPL and SMPL-X (default ${MODELS_ENV}).",
)
@click.option(
    "--in",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="SMPL parameters .npz: global_orient, body_pose, betas[, transl].",
)
@click.option(
    "--out",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SMPL-X parameters .npz to write.",
)
@click.option("--gender", type=click.Choice(specs.GENDERS), default="neutral", show_default=True)
@click.option("--num-betas", default=10, show_default=True, help="SMPL-X betas to fit.")
@click.option(
    "--batch-size", default=64, show_default=True, help="Bodies per solve (more on a GPU)."
)
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda.")
def transfer(
    models_dir: Path | None,
    input_path: Path,
    output_path: Path,
    gender: str,
    num_betas: int,
    batch_size: int,
    device: str,
) -> None:
    """SMPL fits -> SMPL-X parameters with the SMPL shape transferred.

    The SMPL pose is kept (global_orient, joints 1..21; SMPL's hand joints are dropped, the
    SMPL-X hands stay flat); SMPL-X betas and transl are the closed-form least-squares fit of
    the SMPL mesh on the vertices with a correspondence. Uses the official
    smpl2smplx_deftrafo_setup.pkl (+ smplx_mask_ids.npy) from the models folder when present,
    else a correspondence computed from the two templates.
    """
    if models_dir is None:
        raise click.UsageError(f"give --models DIR (or set ${MODELS_ENV})")
    if batch_size < 1 or num_betas < 1:
        raise click.UsageError("--batch-size and --num-betas must be positive")
    if _same_file(input_path, output_path):
        raise click.UsageError(
            f"--out {output_path} is the input file {input_path} (or a link to it): writing "
            "the output there would replace the input; choose another --out"
        )
    arrays = read_smpl_npz(input_path)
    n, smpl_betas = arrays["betas"].shape
    try:
        model = ShapeTransfer.from_models(
            models_dir,
            gender=gender,
            num_betas=num_betas,
            smpl_num_betas=smpl_betas,
            chunk_size=batch_size,
        ).to(torch.device(device))
    except (ModelsFolderError, FileNotFoundError, BodyModelFileError, TransferDataError) as error:
        raise click.ClickException(str(error)) from error
    if model.smpl_num_betas != smpl_betas or model.num_betas != num_betas:
        raise click.ClickException(
            f"the SMPL model has {model.smpl_num_betas} shape directions for {smpl_betas} input "
            f"betas and SMPL-X {model.num_betas} for --num-betas {num_betas}"
        )
    outputs: dict[str, list[np.ndarray]] = {}
    with tqdm(total=n, unit="body", desc="transfer") as progress:
        for start in range(0, n, batch_size):
            batch = {
                key: torch.from_numpy(value[start : start + batch_size]).to(device)
                for key, value in arrays.items()
            }
            result = model.transfer(**batch)
            for key in ("global_orient", "body_pose", "betas", "transl", "error_mm"):
                outputs.setdefault(key, []).append(getattr(result, key).cpu().numpy())
            progress.update(batch["betas"].shape[0])
    table = {key: np.concatenate(parts) for key, parts in outputs.items()}
    table["transfer_error_mm"] = table.pop("error_mm")
    _refuse_non_finite(table, input_path)
    table["provenance"] = np.array(json.dumps({"input": str(input_path), **model.provenance}))
    _write_npz(output_path, table)
    click.echo(
        f"{n} bodies -> {output_path} (mean transfer error "
        f"{float(table['transfer_error_mm'].mean()):.2f} mm; correspondence: "
        f"{model.correspondence_source})"
    )


def _refuse_non_finite(table: dict[str, np.ndarray], input_path: Path) -> None:
    """Refuse results with NaN / inf values (inputs too large for float32 arithmetic)."""
    for key, value in table.items():
        bad = np.flatnonzero(~np.isfinite(value.reshape(len(value), -1)).all(axis=1))
        if bad.size:
            raise click.ClickException(
                f"the transfer of {input_path} gave non-finite '{key}' values for {bad.size} "
                f"sample(s) (first rows: {bad[:5].tolist()}): their input values are too large "
                "to transfer (e.g. betas far outside the model's range); nothing was written"
            )


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez through a temporary file in the same folder, then rename (no partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(handle)
    try:
        np.savez(temp_name, **arrays)
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def _bad(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="--in")

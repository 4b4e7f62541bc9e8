"""`furpe-label check --models DIR`: one row per expected body-model file."""

from __future__ import annotations

from pathlib import Path

from furpe_label.experts.bodymodels import specs
from furpe_label.experts.bodymodels.locate import ExpectedFile, expected_files, find_file
from furpe_label.experts.bodymodels.validate import (
    BodyModelFileError,
    load_and_validate,
    summary,
)
from furpe_label.experts.filecheck import CheckStatus, FileCheck


def _arrays_for(expected: ExpectedFile) -> dict[str, specs.ArraySpec]:
    if expected.spec is not None:
        return expected.spec.arrays
    if expected.folder == "transfer":
        return {"mtx": specs.SMPL2SMPLX_MTX}
    return specs.FLAME_LANDMARK_EMBEDDING


def check_one(models_dir: Path, expected: ExpectedFile) -> FileCheck:
    """Locate and validate one expected file; never raises for bad content."""
    path = find_file(models_dir, expected.folder, expected.file_names)
    common = dict(
        component=expected.component,
        expected=expected.describe(),
        required=expected.required,
        source=expected.source,
    )
    if path is None:
        status = CheckStatus.MISSING if expected.required else CheckStatus.OPTIONAL_MISSING
        return FileCheck(status=status, detail="not found", **common)
    try:
        loaded = load_and_validate(path, _arrays_for(expected))
    except BodyModelFileError as error:
        return FileCheck(status=CheckStatus.INVALID, detail=str(error), path=path, **common)
    return FileCheck(
        status=CheckStatus.OK, detail=summary(loaded, expected.spec), path=path, **common
    )


def check_models_folder(models_dir: Path) -> list[FileCheck]:
    """Rows for every file the pipeline may use, required ones first."""
    return [check_one(Path(models_dir), expected) for expected in expected_files()]

"""Bounded fuzzing of the safe loader with mutated official-layout files (fixed cases).

A few hundred mutated copies of small official-layout files (see ``tests/support/doubles/
fuzz_seeds.py``) are loaded in a few subprocesses (``tests/support/doubles/pickle_fuzz.py``): every
case must load to plain data or raise ``SafeLoadError``; no signal, no hang, no other error.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from furpe_label.experts.safe_load import read_checkpoint, safe_load_any
from tests.support.doubles.fuzz_seeds import SEED_FILES, write_fuzz_seeds
from tests.support.doubles.pickle_fuzz import check_plain
from tests.support.paths import REPO_ROOT as ROOT

CASES_PER_SEED = 60
BATCHES = (SEED_FILES[:2], SEED_FILES[2:4], SEED_FILES[4:])
TIMEOUT_S = 240


@pytest.mark.slow
def test_mutated_official_files_load_plain_or_are_refused(synthetic_models_dir, tmp_path):
    seeds = write_fuzz_seeds(synthetic_models_dir, tmp_path / "seeds")
    for name in SEED_FILES:  # the unmutated seeds are valid
        check_plain((read_checkpoint if name.endswith(".pt") else safe_load_any)(seeds / name))
    for batch in BATCHES:
        specs = [f"{name}:0:{CASES_PER_SEED}" for name in batch]
        command = [sys.executable, "-m", check_plain.__module__, str(seeds), *specs]
        try:
            result = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as expired:
            out = (expired.stdout or b"").decode(errors="replace").strip().splitlines()
            pytest.fail(f"fuzz batch {batch} hung after: {out[-1:] or 'start'}")
        lines = result.stdout.strip().splitlines()
        assert result.returncode >= 0, f"signal {-result.returncode} at {lines[-1:]}"
        failures = [line for line in lines if line.startswith("FAIL")]
        assert result.returncode == 0 and not failures, "\n".join(failures) + result.stderr[-2000:]
        done = [line for line in lines if line.startswith("DONE")]
        assert len(done) == len(batch), result.stdout[-2000:]
        for line in done:  # the mutations reach the loader's checks, not only its parser
            assert " 0 refused" not in line, line

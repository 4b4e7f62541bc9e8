"""Damaged run folders are refused with a sentence or read as the run wrote them, never
accepted silently, never a traceback, never a crash (issue 15 item 7)."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz

QUICK_FOLDERS = QUICK_CASES // 3
"""Each case copies a run folder and runs four readers: a third of the other kinds' count
keeps the quick test near theirs in time."""


def test_fuzz_run_folders_quick():
    assert_clean(run_fuzz("run_folders", seed=0, count=QUICK_FOLDERS))


@pytest.mark.fuzz
def test_fuzz_run_folders_many():
    # each case copies a folder and runs four readers: ~0.3 s idle, more on a busy machine
    assert_clean(run_fuzz("run_folders", seed=1, count=MANY_CASES, timeout_s=7200.0))

"""Mutated OpenPose JSON files: a named reason naming the file, never a traceback or a crash."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz


def test_fuzz_openpose_json_quick():
    assert_clean(run_fuzz("openpose_json", seed=0, count=QUICK_CASES))


@pytest.mark.fuzz
def test_fuzz_openpose_json_many():
    assert_clean(run_fuzz("openpose_json", seed=1, count=MANY_CASES))

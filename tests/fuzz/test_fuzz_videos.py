"""Mutated AVI / MP4 clips: each wanted frame decoded or given a named reason, never a
traceback or a crash."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz


def test_fuzz_videos_quick():
    assert_clean(run_fuzz("videos", seed=0, count=QUICK_CASES))


@pytest.mark.fuzz
def test_fuzz_videos_many():
    assert_clean(run_fuzz("videos", seed=1, count=MANY_CASES))

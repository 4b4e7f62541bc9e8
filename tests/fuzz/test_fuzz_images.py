"""Corrupted, truncated, mislabelled and huge-header images: a named reason, never a traceback
or a crash."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz


def test_fuzz_images_quick():
    assert_clean(run_fuzz("images", seed=0, count=QUICK_CASES))


@pytest.mark.fuzz
def test_fuzz_images_many():
    assert_clean(run_fuzz("images", seed=1, count=MANY_CASES))

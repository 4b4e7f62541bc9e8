"""Crafted .npz archives never run code, never crash, never give a traceback."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz


def test_fuzz_npz_quick():
    assert_clean(run_fuzz("npz", seed=0, count=QUICK_CASES))


@pytest.mark.fuzz
def test_fuzz_npz_many():
    assert_clean(run_fuzz("npz", seed=1, count=MANY_CASES))

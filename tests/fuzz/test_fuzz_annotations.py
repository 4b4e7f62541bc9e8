"""Crafted JSON annotation files give `check` a sentence naming the file or a manifest that
keeps its invariants (paths under the root, valid boxes); never a traceback or a crash."""

import pytest

from tests.support.fuzz_harness import MANY_CASES, QUICK_CASES, assert_clean, run_fuzz


def test_fuzz_annotations_quick():
    assert_clean(run_fuzz("annotations", seed=0, count=QUICK_CASES))


@pytest.mark.fuzz
def test_fuzz_annotations_many():
    assert_clean(run_fuzz("annotations", seed=1, count=MANY_CASES))

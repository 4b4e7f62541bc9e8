"""Child process of :func:`tests.support.fuzz_harness.run_fuzz`.

    python -m tests.support.fuzz_worker KIND SEED COUNT START

Prints one JSON line ``{"outcome": "start", ...}`` before each case and one with the case's
outcome (``accepted``, ``refused`` with the sentence, ``traceback`` with the exception) after
it, flushing each, so the parent knows which case a dying child was running.
"""

from __future__ import annotations

import importlib
import itertools
import json
import sys
import tempfile
import traceback
from pathlib import Path


def _emit(**event: object) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(kind: str, seed: int, count: int, start: int) -> None:
    module = importlib.import_module(f"tests.fuzz.kinds.{kind}")
    for index, case in itertools.islice(enumerate(module.cases(seed, count)), start, count):
        _emit(outcome="start", index=index, name=case.name)
        with tempfile.TemporaryDirectory(prefix="furpe-fuzz-") as folder:
            try:
                target = case.build(Path(folder))
                result = module.exercise(case, target)
            except BaseException as error:  # every escape is a finding
                frames = traceback.extract_tb(error.__traceback__)
                where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
                detail = f"{type(error).__name__}: {str(error)[:300]} at {where}"
                _emit(outcome="traceback", index=index, name=case.name, detail=detail)
                continue
        if result == "accepted":
            _emit(outcome="accepted", index=index, name=case.name)
        elif isinstance(result, str) and result.startswith("refused: "):
            _emit(outcome="refused", index=index, name=case.name, detail=result[9:])
        else:
            _emit(outcome="traceback", index=index, name=case.name, detail=f"bad result {result!r}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))

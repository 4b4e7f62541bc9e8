"""Where the shared real test inputs are: ``shared/data/real`` beside the repository.

CI clones the repository with ``shared/`` beside it; ``FURPE_REAL_DATA`` overrides.
"""

from __future__ import annotations

import os
from pathlib import Path

REAL_DATA = Path(
    os.environ.get(
        "FURPE_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
    )
)
SPIN_EXAMPLE = REAL_DATA / "spin_example"

"""Where things are, independent of where the test file asking sits in ``tests/``.

Tests and helpers import these instead of counting ``Path(__file__).parents``, so a test file
keeps working when it moves to another folder of ``tests/``.
"""

from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
"""The ``tests/`` folder of the repository."""

REPO_ROOT = TESTS_DIR.parent
"""The repository root: ``pyproject.toml`` and the package folders (``pipeline/``, ...)."""

DATA_DIR = TESTS_DIR / "data"
"""The real test inputs committed with the repository (see ``tests/data/README.md``)."""

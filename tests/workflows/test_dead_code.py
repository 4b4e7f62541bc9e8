"""No dead code in the package: vulture finds nothing unused (confidence >= 60) in it.

Code counts as used when the package, the tests or the benchmarks use it; library APIs called
only from outside (trainers' samplers, the fitters' ``evaluate``) are used by their tests.
Confidence 60 is vulture's level for unused functions, methods, classes, attributes and
variables; 100 adds unused arguments and imports (ruff's F401 already checks imports). What
vulture cannot see (hooks called by the interpreter or a library) is listed, with the reason,
in tests/support/dead_code_whitelist.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import vulture

from tests.support.paths import REPO_ROOT, TESTS_DIR

ROOT = REPO_ROOT
PACKAGE_FOLDERS = ("pipeline", "experts", "selection", "storage", "workflows")
WHITELIST = TESTS_DIR / "support" / "dead_code_whitelist.py"
MIN_CONFIDENCE = 60
# Arguments a protocol fixes (``__exit__(self, exc_type, exc, traceback)``): unused by design.
IGNORED_NAMES = ["exc_type", "traceback"]


def _package_files() -> list[Path]:
    return [path for folder in PACKAGE_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def test_the_package_has_no_unused_code():
    scan = vulture.Vulture(ignore_names=IGNORED_NAMES)
    scan.scavenge([str(ROOT / folder) for folder in PACKAGE_FOLDERS] + [str(ROOT / "tests")])
    package = {path.resolve() for path in _package_files()}
    unused = [
        item.get_report()
        for item in scan.get_unused_code(min_confidence=MIN_CONFIDENCE)
        if Path(item.filename).resolve() in package
    ]
    assert not unused, "unused code (delete it, or whitelist it with the reason):\n" + "\n".join(
        unused
    )


def test_every_whitelist_entry_names_package_code():
    tree = ast.parse(WHITELIST.read_text())
    names = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)]
    assert names, "the whitelist lists nothing"
    source = "\n".join(path.read_text() for path in _package_files())
    stale = [name for name in names if not re.search(rf"\b{re.escape(name)}\b", source)]
    assert not stale, f"whitelist entries that name nothing in the package: {stale}"

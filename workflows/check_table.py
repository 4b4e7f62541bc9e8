"""Render folder-check rows (`furpe-label check`) as a plain-text table."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from furpe_label.experts.filecheck import CheckStatus, FileCheck

_MARK = {
    CheckStatus.OK: "ok",
    CheckStatus.MISSING: "MISSING",
    CheckStatus.INVALID: "INVALID",
    CheckStatus.OPTIONAL_MISSING: "absent (optional)",
}


def render_rows(title: str, rows: Sequence[FileCheck], width: int | None = None) -> str:
    """A titled table: component, status, where it was found (or expected), details.

    Missing files show the official names and where to download them.
    """
    width = width or max(100, shutil.get_terminal_size((120, 20)).columns)
    lines = [title, "=" * len(title)]
    comp_w = max(len(r.component) for r in rows) + 2
    status_w = max(len(_MARK[r.status]) for r in rows) + 2
    indent = " " * (comp_w + status_w)
    for row in rows:
        where = str(row.path) if row.path else f"expected {row.expected}"
        lines.append(f"{row.component:<{comp_w}}{_MARK[row.status]:<{status_w}}{where}")
        details = [row.detail] if row.status in (CheckStatus.OK, CheckStatus.INVALID) else []
        if row.status in (CheckStatus.MISSING, CheckStatus.OPTIONAL_MISSING):
            details.append(f"download: {row.source}")
        for detail in details:
            wrapped = textwrap.wrap(detail, width=max(40, width - len(indent)))
            lines.extend(indent + part for part in wrapped)
    blocking = [r for r in rows if r.blocking]
    found = sum(r.status is CheckStatus.OK for r in rows)
    absent = sum(r.status is CheckStatus.OPTIONAL_MISSING for r in rows)
    lines.append(
        f"-> {found} of {len(rows)} files valid, {absent} optional absent; "
        + (f"{len(blocking)} blocking problem(s)" if blocking else "nothing blocking")
    )
    return "\n".join(lines)

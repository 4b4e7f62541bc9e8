"""``OUT/.journal/``: the temporary names a run wrote, so that cleaning up after a killed
writer removes those and nothing else.

Every writer of the run folder asks :meth:`RunJournal.temp_name` for a hidden temporary name
before it creates it; the name is appended (one line, path relative to ``OUT``) to this
process's journal file ``OUT/.journal/<host>-<pid>`` first, so a writer killed at any moment
leaves a temporary that a journal lists. :meth:`RunJournal.remove_leftovers` (driver, lock
held, before a run starts) deletes the listed names that still exist, then the journals. A
file the user put in ``OUT`` is never listed, so never deleted, whatever its name.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

__all__ = ["JOURNAL_FOLDER", "NotARunFolderError", "RunJournal", "refuse_foreign"]

JOURNAL_FOLDER = ".journal"
LOCK_FILE = ".lock"


class NotARunFolderError(ValueError):
    """``--out`` exists and holds files no furpe-label run wrote."""


def refuse_foreign(root: Path, run_json: str = "run.json", logs: str = "logs") -> None:
    """Refuse a ``root`` that exists and is not a furpe-label run folder.

    A run folder has ``run_json``; before it is written a run has made at most its lock, its
    journal and ``logs/`` with ``*.log`` files. Anything else (the user's files) is refused,
    so that no run writes into, or cleans up in, a folder it did not make.

    Raises:
        NotARunFolderError: naming up to five of the entries found.
    """
    if not root.is_dir() or (root / run_json).is_file():
        return
    foreign = []
    for entry in sorted(root.iterdir()):
        if entry.name in (LOCK_FILE, JOURNAL_FOLDER) or _only_logs(entry, logs):
            continue
        foreign.append(entry.name + ("/" if entry.is_dir() else ""))
    if foreign:
        more = len(foreign) - 5
        shown = ", ".join(foreign[:5]) + (f" and {more} more" if more > 0 else "")
        raise NotARunFolderError(
            f"{root} exists and is not a furpe-label run folder (it holds {shown} and no "
            f"{run_json}): give a new or empty folder as --out, or the folder of an earlier "
            "run to resume it"
        )


def _only_logs(entry: Path, logs: str) -> bool:
    if entry.name != logs or entry.is_symlink() or not entry.is_dir():
        return False
    return all(p.is_file() and p.suffix == ".log" for p in entry.iterdir())


class RunJournal:
    """The journal of the run folder ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.folder = self.root / JOURNAL_FOLDER

    def temp_name(self, final: Path, suffix: str | None = None) -> Path:
        """A hidden temporary sibling of ``final`` (``.<name>.<pid>.tmp``, or
        ``.<name><suffix>`` when given), recorded before it is returned."""
        name = f".{final.name}{suffix}" if suffix else f".{final.name}.{os.getpid()}.tmp"
        path = final.with_name(name)
        self.record(path)
        return path

    def record(self, path: Path) -> None:
        """Append ``path`` (inside the run folder) to this process's journal."""
        relative = os.path.relpath(path, self.root)
        if relative.startswith(os.pardir) or "\n" in relative:
            raise ValueError(f"{path} is not a name inside the run folder {self.root}")
        self.folder.mkdir(parents=True, exist_ok=True)
        journal = self.folder / f"{socket.gethostname()}-{os.getpid()}"
        descriptor = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, os.fsencode(relative) + b"\n")
        finally:
            os.close(descriptor)

    def recorded(self) -> list[Path]:
        """Every name the journals list (the folder's paths, in order, without repeats)."""
        if not self.folder.is_dir():
            return []
        names: dict[Path, None] = {}
        for journal in sorted(self.folder.iterdir()):
            if not journal.is_file() or journal.is_symlink():
                continue
            for line in journal.read_bytes().splitlines():
                relative = os.fsdecode(line)
                if (
                    relative
                    and not os.path.isabs(relative)
                    and os.pardir not in Path(relative).parts
                ):
                    names[self.root / relative] = None
        return list(names)

    def leftovers(self) -> list[Path]:
        """The recorded names that still exist (a killed writer's temporaries)."""
        return [path for path in self.recorded() if path.exists() or path.is_symlink()]

    def remove_leftovers(self) -> int:
        """Delete :meth:`leftovers` and the journals; returns how many leftovers went.

        Hold the run's lock: a live writer's temporaries are listed too.
        """
        removed = 0
        for path in self.leftovers():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        if self.folder.is_dir():
            shutil.rmtree(self.folder)
        return removed

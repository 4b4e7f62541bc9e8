"""File paths as text that UTF-8 files can hold, losslessly ("path text").

Paths are bytes on Linux. Python hands a name that is not valid UTF-8 to programs as a ``str``
holding lone surrogates (U+DC80..U+DCFF, one per undecodable byte: ``os.fsdecode``'s
``surrogateescape``), and no UTF-8 file (Parquet, JSON, a log) can hold those. The manifest,
the audit and the exports therefore store every path as *path text*:

* a backslash is written as two backslashes (``\\\\``);
* each byte that is not part of valid UTF-8 is written as ``\\xHH`` (two lower-case hex digits);
* every other character stands for itself.

A UTF-8 path without backslashes is stored unchanged, and :func:`text_to_path` gives back the
exact OS path (``os.fsencode(text_to_path(path_to_text(p))) == os.fsencode(p)`` for any ``p``).
Code that opens a stored path calls :func:`text_to_path` first. Free text (an audit ``detail``,
a log line) that may quote a path goes through :func:`display_text`: the same ``\\xHH`` for the
undecodable bytes, backslashes left alone (readable, not meant to be parsed back).
"""

from __future__ import annotations

import os
import re

__all__ = ["display_text", "path_bytes", "path_to_text", "text_to_path"]

_SURROGATE = re.compile("[\udc80-\udcff]")
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def path_to_text(path: str | bytes | os.PathLike) -> str:
    """The path text of an OS path (see the module docstring)."""
    name = os.fsdecode(path)
    name = name.replace("\\", "\\\\")
    return _SURROGATE.sub(lambda match: f"\\x{ord(match.group()) - 0xDC00:02x}", name)


def text_to_path(text: str) -> str:
    """The OS path (a ``str`` as ``os.fsdecode`` gives it) that path text ``text`` stands for.

    A backslash that starts neither ``\\\\`` nor ``\\xHH`` (never written by
    :func:`path_to_text`, e.g. a Windows path given as is) stands for itself.
    """
    if "\\" not in text:
        return text
    return _ESCAPE.sub(
        lambda match: "\\" if match.group(1) == "\\" else _byte(int(match.group(1)[1:], 16)),
        text,
    )


def _byte(value: int) -> str:
    """One raw byte as ``os.fsdecode`` represents it (ASCII as itself, others escaped)."""
    return os.fsdecode(bytes([value]))


def path_bytes(text: str) -> bytes:
    """The OS path of ``text`` as bytes (what a trainer's file list must hold)."""
    return os.fsencode(text_to_path(text))


def display_text(text: str) -> str:
    """``text`` with each undecodable byte (a lone surrogate) written as ``\\xHH``."""
    return _SURROGATE.sub(lambda match: f"\\x{ord(match.group()) - 0xDC00:02x}", text)

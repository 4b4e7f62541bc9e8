"""Path text: any POSIX file name (bytes) as UTF-8 text and back, losslessly."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from furpe_label.storage.manifest import build_manifest_table
from furpe_label.storage.path_text import display_text, path_bytes, path_to_text, text_to_path

NAMES = [
    b"/data/caf\xe9.jpg",  # Latin-1, not UTF-8
    b"/data/\xc3\xa9t\xc3\xa9.jpg",  # UTF-8: stored as itself
    b"/data/a\\x41.jpg",  # a literal backslash followed by what looks like an escape
    b"/data/\\\\double",
    b"\x80\xff\\",
    b"/plain/name.png",
]


@pytest.mark.parametrize("raw", NAMES)
def test_every_name_round_trips_through_utf8_text(raw):
    text = path_to_text(os.fsdecode(raw))
    assert text.encode("utf-8").decode("utf-8") == text  # a Parquet / JSON string
    assert path_bytes(text) == raw
    assert os.fsencode(text_to_path(text)) == raw


def test_utf8_names_without_backslashes_are_stored_unchanged():
    assert path_to_text("/data/été/x.jpg") == "/data/été/x.jpg"
    assert path_to_text(os.fsdecode(b"/d/caf\xe9.jpg")) == "/d/caf\\xe9.jpg"
    assert display_text(os.fsdecode(b"x \xe9 \\y")) == "x \\xe9 \\y"
    assert text_to_path("C:\\data\\a.jpg") == "C:\\data\\a.jpg"  # not path text: as is


def test_a_manifest_holds_a_name_that_is_not_utf8():
    name = os.fsdecode(b"/data/caf\xe9.jpg")
    table = build_manifest_table({"dataset": ["x"], "image_path": [name], "sequence": [name]})
    stored = table.column("image_path")[0].as_py()
    assert path_bytes(stored) == b"/data/caf\xe9.jpg"
    assert table.column("sequence")[0].as_py() == "/data/caf\\xe9.jpg"
    pa.Table.from_pylist(table.to_pylist())  # every string is valid UTF-8

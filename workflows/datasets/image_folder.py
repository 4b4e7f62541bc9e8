"""``image-folder``: every image under ``--root``; people are found at run time.

Images are the files under the root (recursively, hidden files and folders excluded, sorted)
whose suffix is an image suffix; other files are counted in ``skipped``. A dangling symbolic
link or a FIFO / socket / device named like an image is listed too and gets its named reason
at run time (``image_missing``, ``not_a_regular_file``; never opened). Every image becomes
one row with ``person_idx`` and ``box_xywh`` null: the run finds its people
(:func:`furpe_label.pipeline.person_finder.find_people`). Unreadable or empty image files stay
in the manifest so the run reports them with a named reason.

``--annotations FILE``: a text file listing the images (one path per line, relative to the root
or absolute; blank lines and ``#`` comments ignored) instead of scanning.

``--openpose DIR``: OpenPose JSON output named after the images, ``<stem>_keypoints.json`` (as
OpenPose writes it), ``<stem>_openpose.json`` or ``<stem>.json``, looked up beside the image's
relative folder first, then in DIR itself; the file found goes to ``openpose_json`` and at run
time every person in it is labelled. Images without a file have ``openpose_json`` null.
"""

from __future__ import annotations

from pathlib import Path

from furpe_label.experts.detectors.openpose_format import candidate_files
from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.readers import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def scan_files(root: Path, suffixes: tuple[str, ...]) -> tuple[list[Path], int]:
    """Entries under ``root`` with one of ``suffixes`` (case-insensitive), sorted, hidden
    entries excluded; and the number of other (non-hidden) entries that are not folders.

    Every non-folder entry counts: a dangling symbolic link, a FIFO, a socket or a device
    named like an image is listed like a file (the run gives it a named reason and never opens
    it: :mod:`furpe_label.experts.input_files`), never dropped without a trace.
    """
    found, others = [], 0
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if path.is_dir():
            continue
        if path.suffix.lower() in suffixes:
            found.append(path)
        else:
            others += 1
    return found, others


def read_list_file(path: Path, root: Path) -> list[Path]:
    """Paths listed in a text file (see module doc)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot be read as a text list of images ({err})") from err
    entries = [line.strip() for line in lines]
    return [
        Path(e) if Path(e).is_absolute() else root / e
        for e in entries
        if e and not e.startswith("#")
    ]


class ImageFolderAdapter(DatasetAdapter):
    """A folder of images, optionally with an OpenPose JSON folder."""

    name = "image-folder"
    has_ground_truth = False
    gives_boxes = False

    def __init__(
        self,
        root: Path | str | None = None,
        annotations: Path | str | None = None,
        openpose: Path | str | None = None,
    ) -> None:
        super().__init__(root, annotations)
        if self.root is not None and not self.root.is_dir():
            raise DatasetError(f"{self.root}: not a folder of images")
        self.openpose = Path(openpose).expanduser().absolute() if openpose else None
        if self.openpose is not None and not self.openpose.is_dir():
            raise DatasetError(f"{self.openpose}: OpenPose JSON folder does not exist")

    def image_files(self) -> list[Path]:
        """The images, from the list file or by scanning the root."""
        root = self.require_root()
        if self.annotations is not None:
            self.used_files = [self.annotations]
            return read_list_file(self.annotations, root)
        images, others = scan_files(root, IMAGE_SUFFIXES)
        if others:
            self.skipped["not_an_image_file_name"] += others
        return images

    def openpose_file(self, image: Path) -> str | None:
        """The OpenPose JSON of ``image``, or None."""
        if self.openpose is None:
            return None
        root = self.require_root()
        relative = image.relative_to(root) if image.is_relative_to(root) else Path(image.name)
        for candidate in candidate_files(self.openpose, str(relative)):
            if candidate.is_file():
                return str(candidate)
        return None

    def read_columns(self) -> dict[str, ColumnValues]:
        images = [p.absolute() for p in self.image_files()]
        columns: dict[str, ColumnValues] = {"image_path": [str(p) for p in images]}
        if self.openpose is not None:
            columns["openpose_json"] = [self.openpose_file(p) for p in images]
        return columns

    def info(self) -> dict:
        return {**super().info(), "openpose": str(self.openpose) if self.openpose else None}

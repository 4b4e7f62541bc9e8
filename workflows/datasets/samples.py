"""``samples``: real photos of people that come with the project or its installed packages.

The demo dataset (``furpe-label run --dataset samples``), needing no download:

1. the photos the project ships in ``tests/data`` (found beside the source tree: present in a
   checkout or editable install, absent from a wheel), every image file there;
2. photos inside installed packages: scikit-image's ``astronaut`` (upper body, face) and
   ``camera`` (standing person, profile), matplotlib's ``grace_hopper.jpg`` (head and
   shoulders). Where a package keeps only the array (no file on disk), it is written as PNG to
   ``<work_dir>/samples/`` (``work_dir`` = the run's OUT).

``--root DIR`` replaces both with the images under DIR. People are found at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from furpe_label.storage.manifest import ColumnValues
from furpe_label.workflows.datasets.base import DatasetAdapter
from furpe_label.workflows.datasets.image_folder import IMAGE_SUFFIXES, scan_files
from furpe_label.workflows.datasets.readers import DatasetError

LOG = logging.getLogger(__name__)

REPOSITORY_SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data"


def _skimage_photo(name: str) -> tuple[Path | None, Callable[[], np.ndarray] | None]:
    try:
        import skimage.data
    except ImportError:
        return None, None
    loader = getattr(skimage.data, name, None)
    return Path(skimage.data.data_dir) / f"{name}.png", loader


def _matplotlib_photo(file_name: str) -> tuple[Path | None, None]:
    try:
        import matplotlib
    except ImportError:
        return None, None
    return Path(matplotlib.get_data_path()) / "sample_data" / file_name, None


def package_photos() -> list[tuple[str, Path | None, Callable[[], np.ndarray] | None]]:
    """(name, file on disk or None, array loader or None) of the photos in packages."""
    return [
        ("astronaut", *_skimage_photo("astronaut")),
        ("camera", *_skimage_photo("camera")),
        ("grace_hopper", *_matplotlib_photo("grace_hopper.jpg")),
    ]


class SamplesAdapter(DatasetAdapter):
    """The demo photos (see module doc)."""

    name = "samples"
    has_ground_truth = False
    gives_boxes = False
    annotation_kind = "none"
    needs_root = False

    def __init__(
        self,
        root: Path | str | None = None,
        annotations: Path | str | None = None,
        work_dir: Path | str | None = None,
    ) -> None:
        super().__init__(root, annotations)
        self.work_dir = Path(work_dir).expanduser().absolute() if work_dir else None

    def _write_array(self, name: str, loader: Callable[[], np.ndarray]) -> Path:
        if self.work_dir is None:
            raise DatasetError(
                f"samples: the {name} photo is only an array; give a work folder "
                "(the run's OUT) to write it to"
            )
        image = np.asarray(loader())
        path = self.work_dir / "samples" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        bgr = image[..., ::-1] if image.ndim == 3 else image
        if not cv2.imwrite(str(path), np.ascontiguousarray(bgr)):
            raise DatasetError(f"{path}: could not be written")
        return path

    def images(self) -> list[Path]:
        """The sample photos, in a fixed order."""
        if self.root is not None:
            return scan_files(self.root, IMAGE_SUFFIXES)[0]
        found = (
            scan_files(REPOSITORY_SAMPLES, IMAGE_SUFFIXES)[0] if REPOSITORY_SAMPLES.is_dir() else []
        )
        for name, file, loader in package_photos():
            if file is not None and file.is_file():
                found.append(file)
            elif loader is not None:
                found.append(self._write_array(name, loader))
            else:
                LOG.warning("samples: the %s photo is not installed", name)
        return found

    def read_columns(self) -> dict[str, ColumnValues]:
        images = self.images()
        if not images:
            raise DatasetError("samples: no photos found (tests/data, scikit-image, matplotlib)")
        return {"image_path": [str(p.absolute()) for p in images]}

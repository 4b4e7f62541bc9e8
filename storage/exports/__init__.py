"""furpe_label.storage.exports: a finished run's labels in the formats trainers read.

- :mod:`.run_rows`: the one reader of a run for every format (rows, masks, skip reasons).
- :mod:`.conventions`: every convention change (mean-relative hands, keypoint conventions,
  the camera without ``transl``, missing-part marks) in one place.
- :mod:`.smplx_mesh`: vertices / joints of exported parameters from the run's SMPL-X file.
- :mod:`.furpe`, :mod:`.expose`, :mod:`.humandata`: one module per format.
- :mod:`.run_export`: :func:`export_run` and the ``export.json`` summary.
"""

from furpe_label.storage.exports.run_export import (
    EXPORT_FORMATS,
    FORMATS_NEEDING_MODELS,
    ExportSummary,
    check_export_paths,
    export_run,
)
from furpe_label.storage.exports.run_rows import ExportError, ExportSkip

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS_NEEDING_MODELS",
    "ExportError",
    "ExportSkip",
    "ExportSummary",
    "check_export_paths",
    "export_run",
]

"""SPIN's contrast stretch: ``scipy.misc.bytescale`` as ``scipy.misc.imresize`` applied it."""

from __future__ import annotations

import numpy as np


def _bytescale_values(values: np.ndarray, cmin: float, cmax: float) -> np.ndarray:
    """The float64 stretch of ``scipy.misc.bytescale`` on ``values`` -> uint8."""
    cscale = cmax - cmin
    if cscale == 0:
        cscale = 1
    scaled = (np.asarray(values, dtype=np.float64) - cmin) * (255.0 / cscale)
    return (scaled.clip(0, 255) + 0.5).astype(np.uint8)


def spin_bytescale(data: np.ndarray) -> np.ndarray:
    """``scipy.misc.bytescale`` as ``imresize`` applies it to SPIN's float canvas: (h, w, 3)
    array -> (h, w, 3) uint8 with ``[min, max]`` stretched to ``[0, 255]``, rounded half up.

    uint8 input (every crop here) goes through a 256-entry table built with the same float64
    formula, so the result is identical at a fraction of the cost (and unchanged when the
    canvas already spans 0..255).
    """
    data = np.asarray(data)
    cmin, cmax = data.min(), data.max()
    if data.dtype != np.uint8:
        return _bytescale_values(data, float(cmin), float(cmax))
    if cmin == 0 and cmax == 255:
        return data.copy()
    table = _bytescale_values(np.arange(256), float(cmin), float(cmax))
    return table[data]

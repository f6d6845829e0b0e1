"""Box layouts and the conversions between them, used by every reader, writer and task.

All in pixels unless named ``norm``, in pixel-edge coordinates, so a box over the whole W x H
image is ``[0, 0, W, H]``:

* ``xyxy``: corners, what every reader produces and torchvision detectors use;
* ``xywh``: COCO's top-left corner plus size;
* ``cxcywh_norm``: YOLO's centre and size divided by the image size;
* VOC stores 1-based inclusive indices, handled in :mod:`transferkit.data.formats.voc`.

Each function takes one box or many (anything ``numpy.asarray`` reads, shape ``(4,)`` or
``(N, 4)``) and returns float64 rows of shape ``(N, 4)``; the arithmetic is done in the same order
as the formats define it, so results match the files bit for bit.
"""

from __future__ import annotations

import numpy as np


def _rows(boxes) -> np.ndarray:
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def xywh_to_xyxy(boxes) -> np.ndarray:
    """COCO ``[x, y, w, h]`` to ``[x1, y1, x2, y2]``."""
    b = _rows(boxes)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def xyxy_to_xywh(boxes) -> np.ndarray:
    """``[x1, y1, x2, y2]`` to COCO ``[x, y, w, h]``."""
    b = _rows(boxes)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def cxcywh_norm_to_xyxy(boxes, width: int, height: int) -> np.ndarray:
    """YOLO ``[cx, cy, w, h]`` normalised to [0, 1] to pixel ``[x1, y1, x2, y2]``."""
    b, scale = _rows(boxes), np.array([width, height], dtype=np.float64)
    return np.concatenate(
        [(b[:, :2] - b[:, 2:] / 2) * scale, (b[:, :2] + b[:, 2:] / 2) * scale], axis=1
    )


def xyxy_to_cxcywh_norm(boxes, width: int, height: int) -> np.ndarray:
    """Pixel ``[x1, y1, x2, y2]`` to YOLO ``[cx, cy, w, h]`` normalised by the image size."""
    b = _rows(boxes)
    centre, size = (b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]
    return np.concatenate([centre, size], axis=1) / [width, height, width, height]


def xyxy_to_xywh_list(box) -> list[float]:
    """One ``[x1, y1, x2, y2]`` box as a COCO ``[x, y, w, h]`` list of Python floats."""
    return xyxy_to_xywh(box)[0].tolist()

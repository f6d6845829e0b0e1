"""Box conventions and data set conversion between COCO, Pascal VOC and YOLO.

Box layouts (all in pixels unless named ``norm``; pixel-edge coordinates, so a box over the whole
W x H image is ``[0, 0, W, H]``):

* ``xyxy``: corners, what every reader produces and torchvision detectors use;
* ``xywh``: COCO's top-left corner plus size;
* ``cxcywh_norm``: YOLO's centre and size divided by the image size;
* VOC stores 1-based inclusive indices, handled in :mod:`transferkit.data.formats.voc`.

:func:`convert_dataset` reads a data set with the readers of this package and writes it in another
format with every split kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.records import FORMATS, read_source


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """COCO ``[x, y, w, h]`` to ``[x1, y1, x2, y2]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """``[x1, y1, x2, y2]`` to COCO ``[x, y, w, h]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def cxcywh_norm_to_xyxy(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """YOLO ``[cx, cy, w, h]`` normalised to [0, 1] to pixel ``[x1, y1, x2, y2]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * [width, height, width, height]
    return np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)


def xyxy_to_cxcywh_norm(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel ``[x1, y1, x2, y2]`` to YOLO ``[cx, cy, w, h]`` normalised by the image size."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    centre, size = (b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]
    return np.concatenate([centre, size], axis=1) / [width, height, width, height]


def convert_dataset(
    src: str | Path,
    dst: str | Path,
    src_format: str = "auto",
    dst_format: str = "coco",
    on_bad: str = "fail",
    strict: bool = False,
) -> dict[str, Any]:
    """Read ``src`` (any supported format) and write it to ``dst`` as ``dst_format``.

    Images are copied; splits are kept (a source without splits stays without). ``dst`` must be
    empty or absent, so a conversion never mixes with older files. Returns a summary: format,
    images and objects per split (as read), annotations skipped or clipped while reading, and
    crowd / difficult regions left out (YOLO cannot mark a region "ignore").
    """
    from transferkit.data.formats.coco import write_coco
    from transferkit.data.formats.voc import write_voc
    from transferkit.data.formats.yolo import write_yolo

    if dst_format not in FORMATS:
        raise ConfigError(
            f"unknown target format {dst_format!r}.{did_you_mean(dst_format, FORMATS)}",
            hint=f"valid formats: {', '.join(FORMATS)}",
        )
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DatasetError(
            f"output folder {dst} exists and is not empty", hint="pass a new or empty folder"
        )
    source = read_source(src, src_format, on_bad=on_bad, strict=strict)
    splits = {name: records for name, records in source.splits.items() if records}
    if dst_format == "coco":
        write_coco(dst, splits, source.class_names, source.category_ids)
    elif dst_format == "voc":
        write_voc(dst, splits, source.class_names)
    else:
        write_yolo(dst, splits, source.class_names)
    ignored = sum(o.iscrowd or o.difficult for rs in splits.values() for r in rs for o in r.objects)
    return {
        "from": source.format,
        "to": dst_format,
        "classes": list(source.class_names),
        "splits": {
            name: {"images": len(rs), "objects": sum(len(r.objects) for r in rs)}
            for name, rs in splits.items()
        },
        "issues": source.issues.summary()["counts"],
        "ignore_regions_dropped": ignored if dst_format == "yolo" else 0,
    }

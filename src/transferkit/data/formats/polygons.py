"""Outlines for the formats that store an object as polygons only (YOLO polygons, LabelMe).

COCO holds an object as a list of polygons or as RLE; a YOLO label line holds one polygon and a
LabelMe shape one polygon. :func:`as_polygons` turns any COCO segmentation into plain polygons
(RLE is traced, see :func:`transferkit.data.masks.mask_to_polygons`), :func:`join_parts` makes one
outline of an object in several parts, :func:`polygon_box` is the box of an outline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from transferkit.data.masks import mask_to_polygons, segmentation_to_mask


def as_polygons(segmentation: Any, height: int, width: int, where: str = "") -> list[list[float]]:
    """An object's COCO segmentation as flat ``[x1, y1, x2, y2, …]`` pixel polygons."""
    if isinstance(segmentation, dict):
        return mask_to_polygons(segmentation_to_mask(segmentation, height, width, where))
    return [[float(v) for v in p] for p in segmentation]


def join_parts(polygons: list[list[float]]) -> list[float]:
    """One outline for the parts of an object (a YOLO line holds one polygon).

    Each further part is reached from the first vertex of the first part by a zero-width bridge
    to its nearest vertex, walked round, and left by the same bridge, as Ultralytics' COCO
    converter joins parts. The bridges are walked both ways so they cover no pixel: rasterised
    (pycocotools fills even-odd), the outline is the union of disjoint parts, and a traced hole
    (an inner contour of an RLE mask) stays a hole.
    """
    if len(polygons) == 1:
        return list(polygons[0])
    first = np.asarray(polygons[0], dtype=np.float64).reshape(-1, 2)
    anchor = first[0]
    out = [first, anchor[None]]
    for poly in polygons[1:]:
        pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        near = int(np.argmin(((pts - anchor) ** 2).sum(axis=1)))
        pts = np.roll(pts, -near, axis=0)
        out += [pts, pts[:1], anchor[None]]
    return [float(v) for v in np.concatenate(out).reshape(-1)]


def polygon_box(polygons: list[list[float]]) -> tuple[float, float, float, float]:
    """The XYXY box around every point of ``polygons``."""
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons])
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    return float(x1), float(y1), float(x2), float(y2)

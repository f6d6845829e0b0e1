"""YOLO polygon lines (the ``-seg`` labels of Ultralytics and Roboflow): parse and write.

A polygon line is ``class x1 y1 x2 y2 x3 y3 …``, at least 3 points, normalised to [0, 1]; a
line of 4 values after the class is a box (``class cx cy w h``), and both may share a file. A
polygon is read as the object's COCO segmentation (one polygon, pixel coordinates) with its box;
a box line has no segmentation (instance and semantic segmentation report it, as they report a
COCO object without one). Written back, an object with a segmentation becomes one polygon line
(parts joined by :func:`transferkit.data.formats.polygons.join_parts`, RLE traced), an object
without one a box line.
"""

from __future__ import annotations

from transferkit.data.boxes import xyxy_to_cxcywh_norm
from transferkit.data.formats.polygons import as_polygons, join_parts, polygon_box
from transferkit.data.records import DetectionRecord, Issues, ObjectAnn, check_box

EXPECTED = "expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...'"


def line_problem(cls: float, values: list[float]) -> str | None:
    """Why a label line (class, then ``values``) is neither a box nor a polygon; None if fine."""
    if not cls.is_integer():
        return f"class {cls:g} is not an integer"
    if len(values) == 4:
        return None
    if not values:
        return "a class with no coordinates"
    if len(values) % 2:
        return f"a polygon needs x y pairs, got an odd number of coordinates ({len(values)})"
    if len(values) < 6:
        return f"a polygon needs at least 3 points, got {len(values) // 2}"
    return None


def polygon_object(
    values: list[float], label: int, width: int, height: int, where: str, issues: Issues
) -> ObjectAnn | None:
    """The object of a polygon line (normalised ``values``): its pixel polygon and box."""
    # To 1e-4 px: a written 49.7 reads back as 49.69999968, and pycocotools, which rounds
    # coordinates x 5, would move a boundary pixel over that last digit.
    poly = [round(v * (width if i % 2 == 0 else height), 4) for i, v in enumerate(values)]
    box = check_box(polygon_box([poly]), width, height, where, issues)
    if box is None:
        return None
    return ObjectAnn(box, label, segmentation=[poly])


def object_line(o: ObjectAnn, r: DetectionRecord) -> str:
    """The label line of ``o`` in image ``r``: a polygon line when it has a segmentation."""
    w, h = r.width, r.height
    where = f"{r.file_name or r.path.name} (image id {r.image_id})"
    polygons = [] if o.segmentation is None else as_polygons(o.segmentation, h, w, where)
    if not polygons:  # no segmentation (or an empty RLE): the box
        cx, cy, bw, bh = xyxy_to_cxcywh_norm(o.box, w, h)[0]
        return f"{o.label - 1} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"
    outline = join_parts(polygons)
    # Ultralytics clips to the image too: a point on the far edge of a pixel-edge polygon is 1.0.
    norm = [min(max(v / (w if i % 2 == 0 else h), 0.0), 1.0) for i, v in enumerate(outline)]
    # 8 decimals, not Ultralytics' usual 6: pycocotools moves boundary pixels for shifts of a
    # millionth of the image, which cost small objects up to 3 % IoU in a round trip.
    return f"{o.label - 1} " + " ".join(f"{v:.8f}" for v in norm)

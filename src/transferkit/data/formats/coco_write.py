"""COCO instances JSON writer: records to a COCO dict, and data sets to Roboflow's layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.fileio import write_json
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.masks import mask_area, segmentation_to_mask
from transferkit.data.records import ALL, DetectionRecord, ObjectAnn, copy_images

ROBOFLOW_NAME = "_annotations.coco.json"


def records_to_coco(
    records: list[DetectionRecord],
    class_names: list[str],
    category_ids: list[int] | None = None,
    file_names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """A COCO instances dict for ``records`` (ground truth for evaluation, or a file to write).

    ``category_ids`` defaults to 1..K. VOC ``difficult`` objects are written with
    ``iscrowd = 1``: COCO evaluation then ignores detections that match them instead of counting
    them as false positives, and does not count them as misses, as in VOC evaluation.
    """
    cat_ids = list(category_ids) if category_ids else list(range(1, len(class_names) + 1))
    images, anns = [], []
    for r in records:
        name = (file_names or {}).get(r.image_id, r.file_name or r.path.name)
        images.append({"id": r.image_id, "file_name": name, "width": r.width, "height": r.height})
        for o in r.objects:
            ann = {
                "id": len(anns) + 1,
                "image_id": r.image_id,
                "category_id": cat_ids[o.label - 1],
                "bbox": xyxy_to_xywh_list(o.box),
                "area": o.area if o.area is not None else _area(o, r),
                "iscrowd": int(o.iscrowd or o.difficult),
            }
            if o.segmentation is not None:
                ann["segmentation"] = o.segmentation
            anns.append(ann)
    categories = [
        {"id": c, "name": n, "supercategory": "none"}
        for c, n in zip(cat_ids, class_names, strict=True)
    ]
    return {"images": images, "annotations": anns, "categories": categories}


def _area(o: ObjectAnn, r: DetectionRecord) -> float:
    """COCO's area of an object read without one: its mask's pixels (the box's without a mask),
    as COCO's small / medium / large ranges of segmentation AP expect."""
    if o.segmentation is None:
        return o.box_area
    where = f"{r.file_name or r.path.name} (image id {r.image_id})"
    return float(mask_area(segmentation_to_mask(o.segmentation, r.height, r.width, where)))


def write_coco(
    dst: Path,
    splits: dict[str, list[DetectionRecord]],
    class_names: list[str],
    category_ids: list[int] | None = None,
) -> list[Path]:
    """Write Roboflow's layout: ``dst/<split>/_annotations.coco.json`` with the images beside it.

    A source without splits goes to ``dst/_annotations.coco.json`` with the images in ``dst``.
    Returns the annotation files written.
    """
    written = []
    for split, records in splits.items():
        folder = dst if split == ALL else dst / split
        folder.mkdir(parents=True, exist_ok=True)
        names = copy_images(records, folder)
        file_names = {r.image_id: n for r, n in zip(records, names, strict=True)}
        d = records_to_coco(records, class_names, category_ids, file_names)
        written.append(write_json(folder / ROBOFLOW_NAME, d))
    return written

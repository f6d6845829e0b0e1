"""Instance segmentation samples: the detection sample plus ``masks``, one per object.

Every object's ``segmentation`` (COCO polygons or RLE, kept as given) is checked up front by
:func:`check_records`: a polygon with fewer than 3 points or an RLE whose size disagrees with the
image fails with the file and annotation named, or is skipped and counted under
``on_bad_image="skip"``. Masks are ``tv_tensors.Mask``, so flips and scale jitter move them with
the boxes.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

from transferkit.core.errors import DatasetError
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.datasets.detection import DetectionDataset, load_record_image
from transferkit.data.masks import check_segmentation, segmentation_to_mask
from transferkit.data.records import DetectionRecord, Issues


def check_records(records: list[DetectionRecord], issues: Issues) -> list[DetectionRecord]:
    """Drop (counted) or refuse objects without a usable segmentation; returns the records."""
    for r in records:
        kept = []
        for i, o in enumerate(r.objects):
            where = f"{r.file_name or r.path.name} (image id {r.image_id}), object {i + 1}"
            if o.segmentation is None:
                if not o.iscrowd:
                    issues.bad("no_segmentation", f"{where} has no segmentation (polygon or RLE)")
                continue
            try:
                check_segmentation(o.segmentation, r.height, r.width, where)
            except DatasetError as e:
                issues.bad("bad_segmentation", e.message)
                continue
            astray = polygon_astray(o.segmentation, o.box, r.width, r.height)
            if astray:
                hint = "fix the polygon (pixel x, y pairs of this image) or its bbox"
                issues.bad("bad_segmentation", f"{where}: the polygon {astray}", hint)
                continue
            kept.append(o)
        r.objects = kept
    return records


def polygon_astray(segmentation, box, width: int, height: int) -> str | None:
    """Where a polygon lies that no mask can come from: wholly outside the image or its own box
    (None: it overlaps both; RLE masks are sized by the image and need no such check)."""
    if isinstance(segmentation, dict):
        return None
    xs = [v for poly in segmentation for v in poly[0::2]]
    ys = [v for poly in segmentation for v in poly[1::2]]
    x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    span = f"(x {x1:g}..{x2:g}, y {y1:g}..{y2:g})"
    if x1 >= width or y1 >= height or x2 <= 0 or y2 <= 0:
        return f"{span} lies outside the {width}x{height} image"
    bx1, by1, bx2, by2 = box
    if x1 >= bx2 or y1 >= by2 or x2 <= bx1 or y2 <= by1:
        return f"{span} lies outside its own box [{bx1:g}, {by1:g}, {bx2:g}, {by2:g}]"
    return None


class InstanceDataset(DetectionDataset):
    """Records to ``(image, target)``: detection targets plus ``masks`` (and originals for eval)."""

    def __getitem__(self, i: int):
        r = self.records[i]
        pil = load_record_image(r, "masks")
        keep = [o for o in r.objects if not (self.train and o.iscrowd)]
        where = f"{r.file_name or r.path.name}"
        masks = torch.zeros((len(keep), r.height, r.width), dtype=torch.uint8)
        for k, o in enumerate(keep):
            masks[k] = torch.from_numpy(
                segmentation_to_mask(o.segmentation, r.height, r.width, where)
            )
        boxes = torch.tensor([o.box for o in keep], dtype=torch.float32).reshape(-1, 4)
        target: dict[str, Any] = {
            "boxes": tv_tensors.BoundingBoxes(
                boxes, format="XYXY", canvas_size=(r.height, r.width)
            ),
            "labels": torch.tensor([o.label for o in keep], dtype=torch.int64),
            "masks": tv_tensors.Mask(masks),
        }
        if not self.train:  # evaluation transforms drop no boxes, so per-object flags stay aligned
            target["iscrowd"] = torch.tensor([bool(o.iscrowd) for o in keep])
        image, target = self.transform(tv_tensors.Image(TF.pil_to_tensor(pil)), target)
        target["image_id"] = r.image_id
        if not self.train:
            target["orig_size"] = torch.tensor([r.height, r.width])
            target["gt"] = [
                {
                    "bbox": xyxy_to_xywh_list(o.box),
                    "category_id": o.label,
                    "iscrowd": int(o.iscrowd),
                    "segmentation": o.segmentation,
                    # COCO's area ranges (small / medium / large) use the mask area for segm.
                    "area": o.area if o.area is not None else float(masks[k].sum()),
                }
                for k, o in enumerate(keep)
            ]
        return image, target

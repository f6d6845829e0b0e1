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
            kept.append(o)
        r.objects = kept
    return records


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

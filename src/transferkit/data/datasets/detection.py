"""Detection samples: a record becomes ``(image, target)``.

The image is a float ``tv_tensors.Image`` in [0, 1]; the target a dict with ``boxes``
(``tv_tensors.BoundingBoxes``, XYXY pixels of the transformed image), ``labels`` (int64, 1-based)
and ``image_id``. Validation targets also carry what COCO evaluation needs in the original image's
coordinates: ``orig_boxes``, ``orig_size`` (h, w), ``iscrowd`` and ``area``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.errors import DatasetError
from transferkit.data.augment import dense_augment
from transferkit.data.datasets import DataSplits
from transferkit.data.images import load_image_rgb
from transferkit.data.records import (
    DetectionRecord,
    Issues,
    assign_splits,
    read_source,
    split_summary,
)
from transferkit.data.transforms.detection import (
    SCALE_JITTER,
    eval_transform,
    image_size_of,
    train_transform,
)


def load_record_image(r: DetectionRecord, placed: str):
    """The RGB image of ``r``, refused when its size is not the one the annotation gives (its
    ``placed`` — boxes, masks — would land in the wrong pixels)."""
    pil = load_image_rgb(r.path)
    if pil.size != (r.width, r.height):
        raise DatasetError(
            f"{r.path}: image is {pil.size[0]}x{pil.size[1]} but its annotation says "
            f"{r.width}x{r.height}",
            hint=f"re-export the annotations for these images ({placed} would be misplaced)",
        )
    return pil


class DetectionDataset(Dataset):
    """Records to ``(image, target)`` samples (see the module documentation)."""

    def __init__(self, records: list[DetectionRecord], transform: v2.Transform, train: bool):
        self.records = list(records)
        self.transform = transform
        self.train = train

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        r = self.records[i]
        pil = load_record_image(r, "boxes")
        image = tv_tensors.Image(TF.pil_to_tensor(pil))
        keep = [o for o in r.objects if not (self.train and o.iscrowd)]
        boxes = torch.tensor([o.box for o in keep], dtype=torch.float32).reshape(-1, 4)
        target: dict[str, Any] = {
            "boxes": tv_tensors.BoundingBoxes(
                boxes, format="XYXY", canvas_size=(r.height, r.width)
            ),
            "labels": torch.tensor([o.label for o in keep], dtype=torch.int64),
        }
        image, target = self.transform(image, target)
        target["image_id"] = r.image_id
        if not self.train:
            target["orig_boxes"] = boxes
            target["orig_size"] = torch.tensor([r.height, r.width])
            target["iscrowd"] = torch.tensor([o.iscrowd or o.difficult for o in keep])
            areas = [o.area if o.area is not None else o.box_area for o in keep]
            target["area"] = torch.tensor(areas, dtype=torch.float32)
        return image, target


def load_box_data(
    cfg: RunConfig,
    dataset: type[DetectionDataset] = DetectionDataset,
    check: Callable[[list[DetectionRecord], Issues], list[DetectionRecord]] | None = None,
) -> DataSplits:
    """Read ``cfg.data`` (COCO, VOC or YOLO), ``check`` each split's records (instance masks), carve
    the splits and attach the detection transforms: the data of the detect and instance tasks.

    Annotations skipped or repaired are counted in the summary and said once (never silent).
    """
    d = cfg.data
    augment, preset = dense_augment(d, ("crop_scale", "rotation"), f"task {cfg.task!r}")
    source = read_source(d.path, d.format, on_bad=d.on_bad_image, strict=d.strict)
    if check is not None:
        for records in source.splits.values():
            check(records, source.issues)
    splits = assign_splits(source, d.val_fraction, d.test_fraction, d.split_seed)
    size = image_size_of(cfg)
    counts = dict(source.issues.counts)
    if counts and not cfg.train.quiet:
        said = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(counts.items()))
        console.info(f"data: annotations skipped or repaired ({said}); examples in data.json")
    summary = {
        "format": source.format,
        "skipped": sum(v for k, v in counts.items() if k != "clipped_box"),
        "clipped_boxes": counts.get("clipped_box", 0),
        "category_ids": source.category_ids,
        "img_size": size,
        "splits": split_summary(splits, source.class_names),
        "annotation_issues": source.issues.summary(),
    }
    test = splits["test"]
    return DataSplits(
        train=dataset(
            splits["train"], train_transform(size, augment, SCALE_JITTER[preset]), train=True
        ),
        val=dataset(splits["val"], eval_transform(size), train=False),
        test=dataset(test, eval_transform(size), train=False) if test else None,
        class_names=source.class_names,
        summary=summary,
    )

"""Builders for the polygon formats' tests: data written as Ultralytics, LabelMe and COCO write it,
and the per-object mask IoU of two readings of the same data set."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from tests.detect.helpers import make_image, write_coco
from transferkit.data.masks import mask_to_rle, segmentation_to_mask
from transferkit.data.records import DetectionSource

# Normalised polygons (Ultralytics' -seg label lines) on 64 x 48 images: a triangle, a square.
TRIANGLE = [0.1, 0.1, 0.5, 0.15, 0.2, 0.7]
SQUARE = [0.6, 0.2, 0.9, 0.2, 0.9, 0.8, 0.6, 0.8]


def ultralytics_seg(root: Path, n_train: int = 4, n_val: int = 2, box_line: bool = False) -> Path:
    """An Ultralytics segmentation data set: data.yaml, images/{train,val}, labels/{train,val}.

    Each image holds a 'leaf' triangle and a 'stem' square (shifted per image); ``box_line``
    adds a plain box line (``class cx cy w h``) to the first training image.
    """
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            stem = f"{split}{i}"
            make_image(root / "images" / split / f"{stem}.jpg", 64, 48, seed=len(split) * 10 + i)
            dx = 0.02 * i
            tri = [v + dx if k % 2 == 0 else v for k, v in enumerate(TRIANGLE)]
            lines = [f"0 {' '.join(f'{v:.6f}' for v in tri)}", "1 " + " ".join(map(str, SQUARE))]
            if box_line and split == "train" and i == 0:
                lines.append("1 0.3 0.85 0.2 0.1")
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: leaf\n  1: stem\n"
    )
    return root


def labelme_shape(label, points, shape_type="polygon", group_id=None) -> dict:
    """A shape as labelme 5 saves it."""
    return {
        "label": label,
        "points": [[float(x), float(y)] for x, y in points],
        "group_id": group_id,
        "description": "",
        "shape_type": shape_type,
        "flags": {},
    }


def labelme_file(json_path: Path, image_name: str, shapes: list, embed: bool = False) -> Path:
    """A labelme JSON beside its image (which must exist); ``embed`` stores it as imageData."""
    image = json_path.parent / image_name
    data = base64.b64encode(image.read_bytes()).decode() if embed else None
    d = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_name,
        "imageData": data,
        "imageHeight": 48,
        "imageWidth": 64,
    }
    json_path.write_text(json.dumps(d, indent=2))
    return json_path


def labelme_folder(root: Path, n: int = 6) -> Path:
    """``n`` images with a polygon 'leaf', a rectangle 'stem', a circle 'bud' (every other image),
    a two-part 'leaf' (group_id 1) on the first, and a line and a point that mark no area."""
    for i in range(n):
        make_image(root / f"img{i}.jpg", 64, 48, seed=i)
        shapes = [
            labelme_shape("leaf", [(4 + i, 4), (30, 6), (10, 30)]),
            labelme_shape("stem", [(56, 40), (40, 20)], "rectangle"),
        ]
        if i % 2 == 0:
            shapes.append(labelme_shape("bud", [(20, 38), (20, 44)], "circle"))
        if i == 0:
            shapes += [
                labelme_shape("leaf", [(34, 2), (44, 2), (44, 10)], group_id=1),
                labelme_shape("leaf", [(50, 2), (60, 2), (60, 12)], group_id=1),
                labelme_shape("stem", [(1, 46), (30, 46)], "line"),
                labelme_shape("bud", [(3, 3)], "point"),
            ]
        labelme_file(root / f"img{i}.json", f"img{i}.jpg", shapes)
    return root


def coco_polygons(root: Path, n: int = 4) -> Path:
    """COCO instances (64 x 48 images beside the file): per image a polygon 'leaf', a two-part
    'stem' and an RLE 'bud' (a ring: an RLE with a hole)."""
    images, anns = [], []
    ring = np.zeros((48, 64), np.uint8)
    ring[30:44, 20:36] = 1
    ring[34:40, 25:31] = 0
    for i in range(1, n + 1):
        make_image(root / f"im{i}.png", 64, 48, seed=i)
        images.append({"id": i, "file_name": f"im{i}.png", "width": 64, "height": 48})
        objects = [
            (1, [[3.0 + i, 4, 28, 5.5, 12.25, 26]], [3 + i, 4, 25 - i, 22]),
            (2, [[40, 4, 60, 4, 60, 18, 40, 18], [42, 24, 58, 24, 50, 30]], [40, 4, 20, 26]),
            (3, mask_to_rle(ring), [20, 30, 16, 14]),
        ]
        for cat, seg, bbox in objects:
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": bbox,
                    "segmentation": seg,
                    "area": 1.0,
                    "iscrowd": 0,
                }
            )
    cats = [
        {"id": k, "name": n, "supercategory": "plant"}
        for k, n in ((1, "leaf"), (2, "stem"), (3, "bud"))
    ]
    return write_coco(root / "instances.json", images, anns, cats)


def object_ious(a: DetectionSource, b: DetectionSource) -> list[float]:
    """Mask IoU of each object of ``a`` with the same object of ``b`` (images by file name,
    objects in order; the object counts must agree)."""
    by_name = {r.path.name: r for rs in b.splits.values() for r in rs}
    ious = []
    for ra in (r for rs in a.splits.values() for r in rs):
        rb = by_name[ra.path.name]
        assert len(ra.objects) == len(rb.objects), ra.path.name
        for oa, ob in zip(ra.objects, rb.objects, strict=True):
            assert oa.label == ob.label
            ma = segmentation_to_mask(oa.segmentation, ra.height, ra.width).astype(bool)
            mb = segmentation_to_mask(ob.segmentation, rb.height, rb.width).astype(bool)
            ious.append(float((ma & mb).sum() / (ma | mb).sum()))
    return ious

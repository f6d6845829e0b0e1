"""Per-object mask IoU of COCO -> YOLO polygons -> COCO and COCO -> LabelMe -> COCO.

Random star-shaped polygons (3-11 points) and RLE rectangles on generated images are written as
COCO, converted to each polygon format and back with ``data convert``'s converter, and every
object's mask (pycocotools) is compared with the original's. Prints min and mean IoU per format.

    python benchmarks/bench_polygon_round_trip.py [--images 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.data.convert import convert_dataset
from transferkit.data.masks import mask_to_rle, segmentation_to_mask
from transferkit.data.records import read_source

W, H = 96, 64


def write_source(root: Path, n_images: int, rng: np.random.Generator) -> Path:
    """COCO instances: per image 4 random polygons and one RLE rectangle."""
    images, anns = [], []
    for i in range(1, n_images + 1):
        pixels = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"im{i}.png")
        images.append({"id": i, "file_name": f"im{i}.png", "width": W, "height": H})
        for k in range(5):
            if k == 4:
                m = np.zeros((H, W), np.uint8)
                y, x = rng.integers(0, H - 20), rng.integers(0, W - 30)
                m[y : y + 20, x : x + 30] = 1
                seg = mask_to_rle(m)
            else:
                cx, cy, n = rng.uniform(15, W - 15), rng.uniform(12, H - 12), rng.integers(3, 12)
                a, r = np.sort(rng.uniform(0, 2 * np.pi, n)), rng.uniform(3, 12, n)
                pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1).clip(0, [W, H])
                seg = [pts.reshape(-1).round(2).tolist()]
            ann = {"id": len(anns) + 1, "image_id": i, "category_id": 1 + k % 2}
            ann.update(bbox=[0, 0, W, H], segmentation=seg, area=1.0, iscrowd=0)
            anns.append(ann)
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def ious(a, b) -> list[float]:
    """Mask IoU of each object of source ``a`` with the same object of ``b``."""
    by_name = {r.path.name: r for rs in b.splits.values() for r in rs}
    out = []
    for ra in (r for rs in a.splits.values() for r in rs):
        rb = by_name[ra.path.name]
        assert len(ra.objects) == len(rb.objects), ra.path.name
        for oa, ob in zip(ra.objects, rb.objects, strict=True):
            ma = segmentation_to_mask(oa.segmentation, H, W).astype(bool)
            mb = segmentation_to_mask(ob.segmentation, H, W).astype(bool)
            union = (ma | mb).sum()  # a sliver of a polygon may cover no pixel at all
            out.append(float((ma & mb).sum() / union) if union else 1.0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        src = write_source(root / "src", args.images, np.random.default_rng(args.seed))
        original = read_source(src)
        for fmt in ("yolo", "labelme"):
            convert_dataset(src, root / fmt, dst_format=fmt)
            convert_dataset(root / fmt, root / f"{fmt}_back", dst_format="coco")
            v = ious(original, read_source(root / f"{fmt}_back"))
            print(f"{fmt:8} {len(v)} objects  min IoU {min(v):.4f}  mean {np.mean(v):.4f}")


if __name__ == "__main__":
    main()

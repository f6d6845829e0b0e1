"""Generated demo scenes: real Fashion-MNIST items pasted onto varied backgrounds, exact labels.

Each scene is an RGB image of 112-176 px a side holding 1-4 items of five well-separated
Fashion-MNIST classes (:data:`SCENE_CLASSES`), scaled to 30-64 px, tinted, and pasted without
overlap onto a gradient, a colour-blotch or a stripe background with sensor-like noise. The item's
silhouette (pixels above a threshold in the original grayscale) is its instance mask, so the boxes
(tight around the mask, pixel-edge XYXY) and masks are exact.

Items come from the Fashion-MNIST subset the package ships (``data/demo_files``, MIT licence):
train scenes use its train items, val scenes its val items and test scenes items from the original
test set, so no item is seen in two splits. Everything is drawn from generators seeded by ``seed``
and the split: the same call gives the same pixels on every machine.

:func:`write_scenes` writes them as COCO (one folder per split with ``_annotations.coco.json``,
masks as compressed RLE in ``segmentation``); :func:`render_scenes` returns them in memory for the
segmentation tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.errors import ConfigError
from transferkit.core.fileio import atomic_write, write_json
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.demo.fashion import FASHION_MNIST_CLASSES, load_subset
from transferkit.data.masks import mask_to_rle

SCENE_CLASSES = ("T-shirt/top", "Trouser", "Sandal", "Bag", "Ankle boot")
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_THRESHOLD = 40  # grayscale level above which an item pixel belongs to the item


@dataclass
class Scene:
    """One generated image with its objects (labels are 1-based indices into SCENE_CLASSES)."""

    image: np.ndarray  # (H, W, 3) uint8
    masks: np.ndarray  # (N, H, W) bool, one per object
    labels: np.ndarray  # (N,) int64
    boxes: np.ndarray  # (N, 4) float32 XYXY, tight around each mask


def render_scenes(
    n: int,
    split: str = "train",
    seed: int = 0,
    objects: tuple[int, int] = (1, 4),
    item_size: tuple[int, int] = (30, 64),
) -> list[Scene]:
    """``n`` scenes for ``split`` (train / val / test), deterministic in ``seed`` and ``split``."""
    if split not in _SPLIT_CODES:
        raise ConfigError(f"unknown scene split {split!r}; valid: {', '.join(_SPLIT_CODES)}")
    data = load_subset()
    wanted = [FASHION_MNIST_CLASSES.index(c) for c in SCENE_CLASSES]
    pools = [
        data["images"][(data["labels"] == c) & (data["split"] == _SPLIT_CODES[split])]
        for c in wanted
    ]
    rng = np.random.default_rng([int(seed), _SPLIT_CODES[split], 7])
    return [_scene(rng, pools, objects, item_size) for _ in range(n)]


def _scene(rng, pools, objects, item_size) -> Scene:
    h, w = int(rng.integers(14, 23)) * 8, int(rng.integers(14, 23)) * 8
    canvas = _background(rng, h, w)
    masks, labels, boxes = [], [], []
    for _ in range(int(rng.integers(objects[0], objects[1] + 1))):
        label = int(rng.integers(len(pools)))
        item = pools[label][int(rng.integers(len(pools[label])))]
        side = int(rng.integers(item_size[0], item_size[1] + 1))
        aspect = float(rng.uniform(0.85, 1.2))
        iw, ih = max(8, round(side * aspect)), side
        gray = np.asarray(Image.fromarray(item).resize((iw, ih), Image.BILINEAR), dtype=np.float32)
        sil = gray > _THRESHOLD
        if ih >= h or iw >= w or not sil.any():
            continue
        for _ in range(30):  # rejection sampling of a free spot
            y, x = int(rng.integers(0, h - ih + 1)), int(rng.integers(0, w - iw + 1))
            box = _tight_box(sil, x, y)
            if all(_apart(box, b) for b in boxes):
                break
        else:
            continue
        colour = rng.uniform(0.55, 1.0, 3) * 255
        shade = (0.35 + 0.65 * gray / 255.0)[..., None] * colour
        region = canvas[y : y + ih, x : x + iw]
        region[sil] = shade[sil]
        mask = np.zeros((h, w), dtype=bool)
        mask[y : y + ih, x : x + iw] = sil
        masks.append(mask)
        labels.append(label + 1)
        boxes.append(box)
    noisy = canvas + rng.normal(0, 6, canvas.shape)
    return Scene(
        image=np.clip(np.rint(noisy), 0, 255).astype(np.uint8),
        masks=np.array(masks, dtype=bool).reshape(-1, h, w),
        labels=np.array(labels, dtype=np.int64),
        boxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
    )


def _tight_box(sil: np.ndarray, x: int, y: int) -> tuple[float, float, float, float]:
    rows, cols = np.flatnonzero(sil.any(axis=1)), np.flatnonzero(sil.any(axis=0))
    return (x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1)


def _apart(a, b, margin: float = 3.0) -> bool:
    return (
        a[2] + margin <= b[0]
        or b[2] + margin <= a[0]
        or a[3] + margin <= b[1]
        or b[3] + margin <= a[1]
    )


def _background(rng, h: int, w: int) -> np.ndarray:
    kind = int(rng.integers(3))
    c1, c2 = rng.uniform(0, 160, 3), rng.uniform(0, 160, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:  # linear gradient at a random angle
        angle = rng.uniform(0, np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        return c1 + t[..., None] * (c2 - c1)
    if kind == 1:  # smooth colour blotches: a coarse random grid upsampled
        grid = rng.uniform(0, 170, (int(rng.integers(3, 7)), int(rng.integers(3, 7)), 3))
        img = Image.fromarray(grid.astype(np.uint8)).resize((w, h), Image.BICUBIC)
        return np.asarray(img, dtype=np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 24)  # stripes
    t = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    return c1 + t[..., None] * (c2 - c1)


def write_scenes(
    out: str | Path, n_train: int = 160, n_val: int = 48, n_test: int = 0, seed: int = 0
) -> Path:
    """Write scenes as COCO under ``out`` (``train/``, ``val/``, ``test/``); returns ``out``.

    Each split folder holds PNG images and ``_annotations.coco.json`` whose annotations carry the
    exact box, the mask as compressed RLE, and its pixel area.
    """
    out = Path(out)
    categories = [
        {"id": i + 1, "name": n, "supercategory": "clothing"} for i, n in enumerate(SCENE_CLASSES)
    ]
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if n <= 0:
            continue
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        images, anns = [], []
        for i, scene in enumerate(render_scenes(n, split, seed), start=1):
            name = f"scene_{i:04d}.png"
            atomic_write(
                folder / name, lambda p, a=scene.image: Image.fromarray(a).save(p, format="PNG")
            )
            h, w = scene.image.shape[:2]
            images.append({"id": i, "file_name": name, "width": w, "height": h})
            for mask, label, box in zip(scene.masks, scene.labels, scene.boxes, strict=True):
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": i,
                        "category_id": int(label),
                        "bbox": xyxy_to_xywh_list([float(v) for v in box]),
                        "area": float(mask.sum()),
                        "iscrowd": 0,
                        "segmentation": mask_to_rle(mask),
                    }
                )
        write_json(
            folder / "_annotations.coco.json",
            {"images": images, "annotations": anns, "categories": categories},
        )
    return out

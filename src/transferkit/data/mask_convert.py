"""Conversion between class-mask data sets and COCO instances (polygons or RLE).

* :func:`masks_to_coco`: every 8-connected region of a class (0 is background and is not
  written; ``ignore_index`` pixels neither) becomes one COCO annotation, outlined as polygons or
  encoded as compressed RLE. RLE is exact; polygons are exact for regions without holes (COCO
  polygons cannot hold a hole, so a hole is filled).
* :func:`coco_to_masks`: COCO polygons and RLE are painted into class-index PNGs (later
  annotations over earlier ones), category k of the sorted category ids as class k.

Both keep the source's splits, copy the images, and write layouts the readers of this package
(and other tools) load: Roboflow-style COCO (``<split>/_annotations.coco.json`` with the images
beside it) and ``<split>/images`` + ``<split>/masks`` with a ``classes.txt``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.core.fileio import atomic_write_text, write_json
from transferkit.data.datasets.segmentation import check_pairs, read_class_mask
from transferkit.data.formats.mask_folder import list_semantic
from transferkit.data.masks import (
    mask_to_box,
    mask_to_polygons,
    mask_to_rle,
    write_index_png,
)
from transferkit.data.regions import connected_components

ENCODINGS = ("polygon", "rle")


def _empty_target(dst: Path) -> None:
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DatasetError(
            f"output folder {dst} exists and is not empty", hint="pass a new or empty folder"
        )


def _checked(src: Path, format: str, on_bad: str, ignore_index: int):
    listing = list_semantic(src, format, on_bad)
    good, bad, num_classes, _ = check_pairs(listing, ignore_index)
    if bad and on_bad == "fail":
        shown = "; ".join(f"{s.image}: {why}" for s, why in bad[:5])
        raise DatasetError(
            f"{len(bad)} bad image/mask pair(s) in {src}: {shown}",
            hint="fix or remove them, or pass --on-bad-image skip",
        )
    names = listing.classes.names if listing.classes else [f"class_{i}" for i in range(num_classes)]
    return listing, good, bad, names


def _copy(image: Path, folder: Path, taken: set[str]) -> str:
    name, n = image.name, 1
    while name in taken:  # same file name in two source folders
        n += 1
        name = f"{image.stem}_{n}{image.suffix}"
    taken.add(name)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(image, folder / name)
    return name


def masks_to_coco(
    src: str | Path,
    dst: str | Path,
    encoding: str = "polygon",
    format: str = "auto",
    on_bad: str = "fail",
    ignore_index: int = 255,
) -> dict[str, Any]:
    """Write a class-mask data set as COCO instances; returns a summary per split."""
    if encoding not in ENCODINGS:
        raise ConfigError(f"unknown segmentation encoding {encoding!r}", hint="use polygon or rle")
    src, dst = Path(src), Path(dst)
    _empty_target(dst)
    listing, good, bad, names = _checked(src, format, on_bad, ignore_index)
    categories = [
        {"id": k, "name": n, "supercategory": "none"} for k, n in enumerate(names) if k > 0
    ]
    by_split: dict[str | None, list] = {}
    for s in good:
        by_split.setdefault(s.split, []).append(s)
    summary: dict[str, Any] = {"splits": {}, "classes": names[1:], "skipped": len(bad)}
    for split, samples in by_split.items():
        folder = dst / split if split else dst
        images, anns, taken = [], [], set()
        for image_id, s in enumerate(samples, start=1):
            mask = read_class_mask(s, listing.classes)
            h, w = mask.shape
            images.append(
                {
                    "id": image_id,
                    "file_name": _copy(s.image, folder, taken),
                    "width": w,
                    "height": h,
                }
            )
            anns += _instances(mask, image_id, len(names), ignore_index, encoding, len(anns))
        write_json(
            folder / "_annotations.coco.json",
            {"images": images, "annotations": anns, "categories": categories},
        )
        summary["splits"][split or "all"] = {"images": len(images), "objects": len(anns)}
    return summary


def _instances(
    mask: np.ndarray, image_id: int, num_classes: int, ignore_index: int, encoding: str, first: int
) -> list[dict[str, Any]]:
    """COCO annotations (ids from ``first + 1``) for each connected region of each class."""
    anns = []
    for k in range(1, num_classes):
        if k == ignore_index:
            continue
        regions, count = connected_components(mask == k)
        for r in range(1, count + 1):
            region = (regions == r).astype(np.uint8)
            seg = mask_to_rle(region) if encoding == "rle" else mask_to_polygons(region)
            anns.append(
                {
                    "id": first + len(anns) + 1,
                    "image_id": image_id,
                    "category_id": k,
                    "segmentation": seg,
                    "area": float(region.sum()),
                    "bbox": mask_to_box(region),
                    "iscrowd": 0,
                }
            )
    return anns


def coco_to_masks(src: str | Path, dst: str | Path, on_bad: str = "fail") -> dict[str, Any]:
    """Write COCO instances as class-index PNG masks (0 = background) next to copied images."""
    src, dst = Path(src), Path(dst)
    _empty_target(dst)
    listing, good, bad, names = _checked(src, "coco", on_bad, 255)
    summary: dict[str, Any] = {"splits": {}, "classes": names[1:], "skipped": len(bad)}
    taken: dict[str | None, set[str]] = {}
    for s in good:
        folder = dst / s.split if s.split else dst
        name = _copy(s.image, folder / "images", taken.setdefault(s.split, set()))
        write_index_png(
            folder / "masks" / f"{Path(name).stem}.png", read_class_mask(s, listing.classes)
        )
        entry = summary["splits"].setdefault(s.split or "all", {"images": 0})
        entry["images"] += 1
    atomic_write_text(dst / "classes.txt", "\n".join(names) + "\n")
    return summary

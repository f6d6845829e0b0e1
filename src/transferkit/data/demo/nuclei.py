"""The nuclei demo data: one real fluorescence microscopy image, tiled, for both segmentation tasks.

The package ships ``demo_files/nuclei/``: ``image.png`` (512x512, 8-bit grey; the original
uint16 values are all below 256, so the conversion is lossless), ``labels.png`` (its instance
label image, 0 = background, nuclei numbered 1..125) and ``NOTICE.txt``. The image is from the
2018 Data Science Bowl (BBBC038, listed as CC0); the files were shipped in the BSD-3 ``stardist``
wheel. :func:`build_nuclei_files` rebuilds them from stardist's ``img2d.tif`` / ``mask2d.tif``.

The image is cut into non-overlapping square tiles; a seeded choice of tiles is held out as
validation, so no validation pixel is ever seen in training. Two layouts are written:

* :func:`materialize_semantic`: ``train|val/images`` + ``train|val/masks`` (0 background,
  1 nucleus) with a ``classes.txt``, read by the ordinary semantic reader;
* :func:`materialize_instances`: Roboflow-style COCO (``train|val/_annotations.coco.json`` with
  the tiles beside it), one polygon-outlined annotation per nucleus, read by the COCO reader.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write, atomic_write_text, write_json
from transferkit.data.masks import (
    label_image_to_instances,
    mask_area,
    mask_to_box,
    mask_to_polygons,
    write_index_png,
)

CLASS_NAMES = ("background", "nucleus")
NOTICE = """Nuclei demo image (image.png) and its instance labels (labels.png)

Source: the 2018 Data Science Bowl stage 1 training set, Broad Bioimage Benchmark Collection
BBBC038 (Caicedo et al., Nature Methods 16, 1247-1253, 2019), listed by the BBBC as CC0 (public
domain). The 512x512 crop and its 125-nucleus label image are the files
stardist/data/images/img2d.tif and mask2d.tif shipped in the stardist Python package
(version 0.9.2, BSD-3-Clause licence, https://github.com/stardist/stardist), converted here to PNG
without loss (all image values are below 256) and with the nuclei renumbered 1..125.
"""
# Pieces of nuclei cut by a tile border that are smaller than this are not annotated as
# instances: a few pixels of a nucleus are not a detectable object.
MIN_INSTANCE_AREA = 16


def nuclei_folder() -> Path:
    """``transferkit/data/demo_files/nuclei`` inside the installed package."""
    return Path(str(resources.files("transferkit.data") / "demo_files" / "nuclei"))


def build_nuclei_files(src: str | Path, dst: str | Path | None = None) -> Path:
    """Write ``image.png``, ``labels.png`` and ``NOTICE.txt`` from stardist's two TIFF files."""
    import tifffile

    src, dst = Path(src), Path(dst) if dst else nuclei_folder()
    image = tifffile.imread(src / "img2d.tif")
    labels = tifffile.imread(src / "mask2d.tif")
    if image.max() > 255:
        raise DatasetError(f"{src / 'img2d.tif'}: values up to {image.max()} do not fit 8 bits")
    _, renumbered = np.unique(labels, return_inverse=True)  # 0 stays 0: it is the smallest id
    renumbered = renumbered.reshape(labels.shape)
    if renumbered.max() > 255:
        raise DatasetError(f"{src / 'mask2d.tif'}: {renumbered.max()} nuclei do not fit 8 bits")
    for name, array in (("image.png", image), ("labels.png", renumbered)):
        im = Image.fromarray(array.astype(np.uint8), mode="L")
        atomic_write(dst / name, lambda p, im=im: im.save(p, format="PNG", optimize=True))
    atomic_write_text(dst / "NOTICE.txt", NOTICE)
    return dst


def load_nuclei() -> tuple[np.ndarray, np.ndarray]:
    """The packaged image (H, W uint8) and its instance labels (H, W int64)."""
    folder = nuclei_folder()
    with Image.open(folder / "image.png") as im:
        image = np.asarray(im.convert("L"))
    with Image.open(folder / "labels.png") as im:
        labels = np.asarray(im).astype(np.int64)
    return image, labels


def tiles(tile: int = 128, val_tiles: int = 4, seed: int = 0) -> dict[str, list[tuple]]:
    """Non-overlapping ``tile`` x ``tile`` crops, split into train and val by a seeded choice.

    Returns ``{"train": [...], "val": [...]}`` of ``(name, image, labels)`` tuples; ``labels`` keeps
    the instance ids of the whole image (0 = background).
    """
    image, labels = load_nuclei()
    h, w = image.shape
    if not 16 <= tile <= min(h, w):
        raise DatasetError(f"tile size {tile} must be between 16 and {min(h, w)} pixels")
    crops = [
        (
            f"nuclei_y{y:03d}_x{x:03d}",
            image[y : y + tile, x : x + tile],
            labels[y : y + tile, x : x + tile],
        )
        for y in range(0, h - tile + 1, tile)
        for x in range(0, w - tile + 1, tile)
    ]
    if not 1 <= val_tiles < len(crops):
        raise DatasetError(f"val_tiles must be between 1 and {len(crops) - 1}, got {val_tiles}")
    held = set(np.random.default_rng(seed).permutation(len(crops))[:val_tiles].tolist())
    return {
        "train": [c for i, c in enumerate(crops) if i not in held],
        "val": [c for i, c in enumerate(crops) if i in held],
    }


def materialize_semantic(
    out: str | Path, tile: int = 128, val_tiles: int = 4, seed: int = 0
) -> Path:
    """Write the tiles as an images/ + masks/ folder data set (0 background, 1 nucleus)."""
    out = Path(out)
    for split, crops in tiles(tile, val_tiles, seed).items():
        for name, image, labels in crops:
            _save_grey(out / split / "images" / f"{name}.png", image)
            write_index_png(out / split / "masks" / f"{name}.png", (labels > 0).astype(np.uint8))
    atomic_write_text(out / "classes.txt", "\n".join(CLASS_NAMES) + "\n")
    atomic_write_text(out / "NOTICE.txt", NOTICE)
    return out


def materialize_instances(
    out: str | Path, tile: int = 128, val_tiles: int = 4, seed: int = 0
) -> Path:
    """Write the tiles as COCO instances (polygons), one ``_annotations.coco.json`` per split."""
    out = Path(out)
    for split, crops in tiles(tile, val_tiles, seed).items():
        images, annotations = [], []
        for image_id, (name, image, labels) in enumerate(crops, start=1):
            _save_grey(out / split / f"{name}.png", image)
            h, w = image.shape
            images.append({"id": image_id, "file_name": f"{name}.png", "width": w, "height": h})
            for mask in label_image_to_instances(labels):
                if mask_area(mask) < MIN_INSTANCE_AREA:
                    continue
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": 1,
                        "segmentation": mask_to_polygons(mask),
                        "area": float(mask_area(mask)),
                        "bbox": mask_to_box(mask),
                        "iscrowd": 0,
                    }
                )
        coco = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": 1, "name": "nucleus", "supercategory": "cell"}],
        }
        write_json(out / split / "_annotations.coco.json", coco)
    atomic_write_text(out / "NOTICE.txt", NOTICE)
    return out


def _save_grey(path: Path, array: np.ndarray) -> None:
    im = Image.fromarray(np.ascontiguousarray(array), mode="L")
    atomic_write(path, lambda p: im.save(p, format="PNG"))

"""Semantic segmentation sources: find the image/mask pairs and the class table of a data set.

Layouts read (``format="auto"`` picks from what is on disk):

* ``folder``: ``images/`` and ``masks/`` (or ``annotations/``, ``labels/``; mmseg's ``img_dir/``
  and ``ann_dir/``) with the same file stems (a mask may also be named ``<stem>_mask``),
  optionally inside ``train/``, ``val/`` (``valid``, ``validation``) and ``test/`` folders, or
  split the other way round (``images/training``, ``annotations/training`` as ADE20K and mmseg
  do); also Roboflow's export, where ``<stem>_mask.png`` sits next to each image in the split
  folder with a ``_classes.csv``.
* ``voc``: Pascal VOC (``JPEGImages/``, ``SegmentationClass/``, ``ImageSets/Segmentation/*.txt``),
  also inside ``VOCdevkit/VOC20xx`` and as CVAT exports it (RGB masks + ``labelmap.txt``).
* ``coco``: COCO instances JSON (any layout :mod:`transferkit.data.formats.coco` reads); polygons and RLE
  are rasterised to class masks, 0 = background, category k = its contiguous label.

Class names (and colours for RGB masks) come from a classes file next to the data
(:data:`CLASSES_FILES`); without one, classes are numbered from the mask values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.images import is_image_file

FORMATS = ("auto", "folder", "voc", "coco")
CLASSES_FILES = ("classes.json", "classes.txt", "labelmap.txt", "_classes.csv")
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_IMAGE_DIRS = ("images", "img_dir", "imgs", "JPEGImages")
_MASK_DIRS = ("masks", "annotations", "ann_dir", "labels", "SegmentationClass")


@dataclass
class ClassTable:
    """Class names in index order, optional RGB colours, and the file they came from.

    ``values`` maps stored mask values to class indices where they differ (binary 0/255 masks).
    """

    names: list[str]
    colors: list[tuple[int, int, int]] | None = None
    source: str | None = None
    values: dict[int, int] | None = None

    def to_classes(self, mask: np.ndarray) -> np.ndarray:
        """Stored mask values to class indices (a copy only when ``values`` changes something)."""
        if not self.values:
            return mask
        out = mask.copy()
        for stored, index in self.values.items():
            out[mask == stored] = index
        return out


@dataclass
class SegSample:
    """One image and where its class mask comes from (a mask file, or a callable for COCO)."""

    image: Path
    mask: Path | Callable[[], np.ndarray]
    split: str | None = None

    @property
    def stem(self) -> str:
        return self.image.stem


@dataclass
class Listing:
    """What a layout reader found: samples, a class table (if the data set has one), the format."""

    samples: list[SegSample]
    classes: ClassTable | None
    format: str
    source: Path
    notes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- classes files


def read_classes_file(path: str | Path) -> ClassTable:
    """Read class names (and colours) from classes.json / classes.txt / labelmap.txt / _classes.csv.

    * ``classes.txt``: one class per line, ``name`` or ``name R G B`` (commas allowed);
    * ``labelmap.txt`` (VOC / CVAT): ``name:R,G,B:parts:actions`` lines, ``#`` comments;
    * ``classes.json``: a list of names, or of ``{"name", "color", "id"}`` objects, optionally under
      ``"classes"``;
    * ``_classes.csv`` (Roboflow): ``Pixel Value, Class`` rows.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise DatasetError(f"cannot read classes file {path}: {e}") from None
    if path.suffix == ".json":
        return _classes_json(text, path)
    if path.suffix == ".csv":
        return _classes_csv(text, path)
    names, colors = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if path.name == "labelmap.txt":
            name, _, rest = line.partition(":")
            tokens = rest.split(":")[0].replace(",", " ").split()
        else:
            tokens = line.replace(",", " ").split()
            has_color = len(tokens) >= 4 and _is_rgb(tokens[-3:])
            name = " ".join(tokens[:-3]) if has_color else line
            tokens = tokens[-3:] if has_color else []
        if tokens and not _is_rgb(tokens):
            raise DatasetError(
                f"{path}:{lineno}: colour {' '.join(tokens)!r} is not three integers 0..255"
            )
        names.append(name.strip())
        colors.append(tuple(int(t) for t in tokens) if tokens else None)
    return _table(names, colors, path)


def _is_rgb(tokens: list[str]) -> bool:
    return len(tokens) == 3 and all(t.isdigit() and int(t) <= 255 for t in tokens)


def _classes_json(text: str, path: Path) -> ClassTable:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if isinstance(data, dict):
        data = data.get("classes", data.get("names"))
    if not isinstance(data, list) or not data:
        raise DatasetError(
            f"{path}: expected a list of class names or objects", hint='e.g. ["background", "cell"]'
        )
    if all(isinstance(d, str) for d in data):
        return _table(list(data), [None] * len(data), path)
    entries = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or "name" not in d:
            raise DatasetError(f"{path}: entry {i} needs a 'name', got {d!r:.60}")
        color = d.get("color")
        if color is not None and not _is_rgb([str(c) for c in color]):
            raise DatasetError(
                f"{path}: entry {d['name']!r} colour {color!r} is not [R, G, B] in 0..255"
            )
        entries.append(
            (int(d.get("id", i)), d["name"], tuple(color) if color is not None else None)
        )
    entries.sort()
    if [e[0] for e in entries] != list(range(len(entries))):
        raise DatasetError(
            f"{path}: class ids must be 0..{len(entries) - 1}, got {[e[0] for e in entries]}"
        )
    return _table([e[1] for e in entries], [e[2] for e in entries], path)


def _classes_csv(text: str, path: Path) -> ClassTable:
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if rows and not rows[0][0].strip().lstrip("-").isdigit():
        rows = rows[1:]  # header ("Pixel Value, Class")
    by_value = {}
    for lineno, row in enumerate(rows, 2):
        if len(row) < 2 or not row[0].strip().isdigit():
            raise DatasetError(f"{path}:{lineno}: expected 'pixel value, class name', got {row!r}")
        by_value[int(row[0])] = row[1].strip()
    if sorted(by_value) != list(range(len(by_value))):
        raise DatasetError(
            f"{path}: pixel values must be 0..{len(by_value) - 1}, got {sorted(by_value)}"
        )
    names = [by_value[i] for i in range(len(by_value))]
    return _table(names, [None] * len(names), path)


def _table(names: list[str], colors: list, path: Path) -> ClassTable:
    if not names:
        raise DatasetError(f"classes file {path} lists no classes")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DatasetError(f"{path}: class {dup!r} listed twice")
    if any(c is not None for c in colors):
        missing = [n for n, c in zip(names, colors, strict=True) if c is None]
        if missing:
            raise DatasetError(f"{path}: classes {missing[:3]} have no colour while others do")
        return ClassTable(names, [tuple(c) for c in colors], str(path))
    return ClassTable(names, None, str(path))


def find_classes_file(*folders: Path) -> Path | None:
    """The first classes file (in :data:`CLASSES_FILES` order) found in ``folders``."""
    for folder in folders:
        for name in CLASSES_FILES:
            if (folder / name).is_file():
                return folder / name
    return None


# --------------------------------------------------------------------------- layouts


def list_semantic(path: str | Path, format: str = "auto", on_bad: str = "fail") -> Listing:
    """List the image/mask pairs of a semantic data set in any supported layout.

    ``on_bad`` (fail | skip) applies to bad COCO annotations; mask files are checked later, when
    they are read (:func:`transferkit.data.datasets.segmentation.load_semantic_data`).
    """
    path = Path(path)
    if format not in FORMATS:
        raise ConfigError(
            f"unknown segmentation data format {format!r}.{did_you_mean(format, FORMATS)}",
            hint=f"valid formats: {', '.join(FORMATS)}",
        )
    if not path.exists():
        raise DatasetError(f"data path not found: {path}", hint="check the path given to --data")
    if format == "auto":
        format = detect_format(path)
    if format == "coco":
        return _list_coco(path, on_bad)
    return {"folder": _list_folder, "voc": _list_voc}[format](path)


def detect_format(path: Path) -> str:
    """``folder``, ``voc`` or ``coco`` from what is on disk (a DatasetError lists the options)."""
    if path.is_file() and path.suffix.lower() == ".json":
        return "coco"
    if _voc_root(path) is not None:
        return "voc"
    if _folder_pairs(path):
        return "folder"
    if path.is_dir() and _coco_files(path):
        return "coco"
    raise DatasetError(
        f"{path}: no segmentation data set recognised",
        hint="expected images/ + masks/ folders (optionally under train/ val/ test/), a VOC folder "
        "(JPEGImages/ + SegmentationClass/), or a COCO annotations JSON",
    )


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and is_image_file(p)
    )


def _subdir(folder: Path, names) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def _mask_dir(folder: Path) -> Path | None:
    """The mask folder of ``folder``: one of :data:`_MASK_DIRS` holding image files (directly or
    in split sub-folders), so that COCO's ``annotations/`` or YOLO's ``labels/`` do not count."""
    for name in _MASK_DIRS:
        d = folder / name
        if d.is_dir() and (
            _image_files(d) or any(_image_files(s) for s in _split_dirs(d).values())
        ):
            return d
    return None


def _split_dirs(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        _SPLIT_ALIASES[p.name.lower()]: p
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name.lower() in _SPLIT_ALIASES
    }


def _folder_pairs(root: Path) -> list[tuple[Path, Path | None, str | None]]:
    """(image folder, mask folder or None for side-by-side ``_mask`` files, split) triples."""
    if not root.is_dir():
        return []
    images, masks = _subdir(root, _IMAGE_DIRS), _mask_dir(root)
    if images and masks:
        img_splits, mask_splits = _split_dirs(images), _split_dirs(masks)
        if img_splits:  # images/train + masks/train (ADE20K, mmseg)
            return [(d, mask_splits.get(s, masks / d.name), s) for s, d in img_splits.items()]
        return [(images, masks, None)]
    out = []
    for split, d in _split_dirs(root).items():
        images, masks = _subdir(d, _IMAGE_DIRS), _mask_dir(d)
        if images and masks:
            out.append((images, masks, split))
        elif any(p.stem.endswith("_mask") for p in _image_files(d)):
            out.append((d, None, split))  # Roboflow: x.jpg next to x_mask.png
    if not out and any(p.stem.endswith("_mask") for p in _image_files(root)):
        out.append((root, None, None))
    return out


def _list_folder(root: Path) -> Listing:
    triples = _folder_pairs(root)
    if not triples:
        raise DatasetError(
            f"{root}: no images/ + masks/ folders found",
            hint="put images in images/ and masks with the same file names in masks/",
        )
    samples: list[SegSample] = []
    unpaired = 0
    for img_dir, mask_dir, split in triples:
        files = _image_files(img_dir)
        if mask_dir is None:
            masks = {p.stem[: -len("_mask")]: p for p in files if p.stem.endswith("_mask")}
            files = [p for p in files if not p.stem.endswith("_mask")]
        else:
            masks = {}
            for p in _image_files(mask_dir) if mask_dir.is_dir() else []:
                stem = p.stem[: -len("_mask")] if p.stem.endswith("_mask") else p.stem
                # With several mask files of one stem (x.png and x.jpg), PNG wins: it is lossless.
                if stem not in masks or p.suffix.lower() == ".png":
                    masks[stem] = p
        stems = {p.stem for p in files}
        unpaired += sum(1 for s in masks if s not in stems)
        mask_home = mask_dir or img_dir
        for p in files:
            samples.append(SegSample(p, masks.get(p.stem, mask_home / f"{p.stem}.png"), split))
    folders = [root] + [t[0] for t in triples] + [t[0].parent for t in triples]
    classes_file = find_classes_file(*dict.fromkeys(folders))
    classes = read_classes_file(classes_file) if classes_file else None
    return Listing(samples, classes, "folder", root, {"masks_without_image": unpaired})


def _voc_root(path: Path) -> Path | None:
    if not path.is_dir():
        return None
    candidates = [path, *sorted(path.glob("VOC*")), *sorted(path.glob("VOCdevkit/VOC*"))]
    for c in candidates:
        if (c / "JPEGImages").is_dir() and (c / "SegmentationClass").is_dir():
            return c
    return None


def _list_voc(path: Path) -> Listing:
    root = _voc_root(path)
    if root is None:
        raise DatasetError(
            f"{path}: not a Pascal VOC folder (needs JPEGImages/ and SegmentationClass/)",
            hint="point --data at the VOC20xx folder, or use --format folder",
        )
    images = {p.stem: p for p in _image_files(root / "JPEGImages")}
    masks_dir = root / "SegmentationClass"
    sets = root / "ImageSets" / "Segmentation"
    lists = {
        s: sets / f"{s}.txt" for s in ("train", "val", "test") if (sets / f"{s}.txt").is_file()
    }
    if "train" in lists:
        listed = [(line.split()[0], split) for split, f in lists.items() for line in _lines(f)]
    else:  # trainval.txt, CVAT's default.txt, or no lists: every image with a mask, split by seed
        whole = next(
            (sets / f for f in ("trainval.txt", "default.txt") if (sets / f).is_file()), None
        )
        stems = (
            [line.split()[0] for line in _lines(whole)]
            if whole
            else sorted(p.stem for p in _image_files(masks_dir))
        )
        listed = [(s, None) for s in stems]
    samples = [
        SegSample(
            images.get(stem, root / "JPEGImages" / f"{stem}.jpg"), masks_dir / f"{stem}.png", split
        )
        for stem, split in listed
    ]
    classes_file = find_classes_file(root, path)
    classes = read_classes_file(classes_file) if classes_file else None
    return Listing(samples, classes, "voc", root)


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _coco_files(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.json")) + sorted(folder.glob("annotations/*.json"))
    found += sorted(folder.glob("*/_annotations.coco.json"))
    return [p for p in found if p.name not in CLASSES_FILES]


@dataclass
class CocoClassMask:
    """Class mask of one COCO image, rasterised from its annotations when called."""

    objects: list  # data.detection.ObjectAnn with .segmentation and .label
    height: int
    width: int
    where: str

    def __call__(self) -> np.ndarray:
        from transferkit.data.masks import instances_to_class_mask, segmentation_to_mask

        masks = [
            segmentation_to_mask(
                o.segmentation, self.height, self.width, f"{self.where}, object {i + 1}"
            )
            for i, o in enumerate(self.objects)
        ]
        return instances_to_class_mask(
            masks, [o.label for o in self.objects], self.height, self.width
        )


def _list_coco(path: Path, on_bad: str) -> Listing:
    from transferkit.data.formats.coco import read_coco
    from transferkit.data.records import ALL, Issues

    issues = Issues(on_bad)
    source = read_coco(path, issues)
    samples = []
    for split, records in source.splits.items():
        for r in records:
            where = f"{r.file_name or r.path.name} (image id {r.image_id})"
            kept = []
            for i, o in enumerate(r.objects):
                if o.segmentation is None:
                    issues.bad(
                        "no_segmentation", f"{path}: {where}, object {i + 1} has no segmentation"
                    )
                    continue
                kept.append(o)
            mask = CocoClassMask(kept, r.height, r.width, f"{path}: {where}")
            samples.append(SegSample(r.path, mask, None if split == ALL else split))
    classes = ClassTable(["background", *source.class_names], None, str(path))
    return Listing(samples, classes, "coco", source.root, {"coco_issues": issues.summary()})

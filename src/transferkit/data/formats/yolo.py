"""YOLO txt labels (Ultralytics / darknet): reader and writer.

Each image ``.../images/x.jpg`` has ``.../labels/x.txt`` (the last ``images`` folder of the path
swapped for ``labels``, as Ultralytics does; darknet keeps the txt beside the image), one object a
line: ``class cx cy w h`` normalised to [0, 1]. Lines of a segmentation export (``class x1 y1 x2 y2
...``, at least 3 points) are read as the polygon and its box (:mod:`.yolo_seg`), so the same
folder serves detection, instance and semantic segmentation. An image without a label file has
no objects.

Layouts read: an Ultralytics ``data.yaml`` (``path``, ``train``, ``val``, ``test``: folders of
images or txt lists of image paths; ``names`` as a list or an id -> name map), given as the file or
as the folder holding it, including Roboflow's export whose ``train: ../train/images`` entries point
outside the folder; or a folder with ``images/`` and ``labels/`` (optionally ``images/train``,
``images/val`` …) and ``classes.txt`` (or darknet's ``obj.names``); or a darknet ``obj.data``
(CVAT's "YOLO 1.1" export: ``obj.names``, ``train.txt`` listing ``data/obj_train_data/x.jpg``,
labels beside the images).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from transferkit.core.errors import DatasetError
from transferkit.data.boxes import cxcywh_norm_to_xyxy
from transferkit.data.formats import Format
from transferkit.data.formats.box_masks import masks_from_boxes
from transferkit.data.formats.darknet import find_darknet_data, read_darknet_layout
from transferkit.data.formats.yolo_names import names_of
from transferkit.data.formats.yolo_seg import EXPECTED, line_problem, polygon_object
from transferkit.data.formats.yolo_write import write_yolo
from transferkit.data.images import is_image_file
from transferkit.data.records import (
    ALL,
    SPLIT_ALIASES,
    DetectionRecord,
    DetectionSource,
    Issues,
    ObjectAnn,
    check_box,
    dedupe,
    image_size,
)
from transferkit.data.text import read_text

NAME_FILES = ("classes.txt", "obj.names")


def find_yolo_yaml(path: Path) -> Path | None:
    """The data YAML of a YOLO data set: ``path`` itself or ``data.yaml`` inside it."""
    if path.is_file():
        return path if path.suffix.lower() in (".yaml", ".yml") else None
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (path / name).is_file():
            return path / name
    return None


def looks_like_yolo(path: Path) -> bool:
    """Whether ``path`` is a YOLO data set (a data YAML, or images/ plus labels/ folders)."""
    if find_yolo_yaml(path) or find_darknet_data(path):
        return True
    return path.is_dir() and (
        ((path / "images").is_dir() and (path / "labels").is_dir())
        or any((path / s / "labels").is_dir() for s in SPLIT_ALIASES)
    )


def read_yolo(path: Path, issues: Issues) -> DetectionSource:
    """Read a YOLO data set into a :class:`DetectionSource`."""
    spec, darknet = find_yolo_yaml(path), find_darknet_data(path)
    if spec is not None:
        names, image_lists, root = _from_yaml(spec)
    elif darknet is not None:
        names, image_lists, root = read_darknet_layout(darknet)
    elif looks_like_yolo(path):
        root = path
        names = _names_file(path)
        image_lists = _from_folders(path)
    else:
        raise DatasetError(
            f"{path}: not a YOLO data set",
            hint="pass data.yaml or a folder with images/ and labels/",
        )
    splits = {}
    next_id = 1
    for split, images in image_lists.items():
        records = []
        for img in images:
            rec = _record(img, next_id, names, issues)
            if rec is not None:
                records.append(rec)
                next_id += 1
        splits[split] = dedupe(records, f"{root} ({split})", issues)
    cat_ids = list(range(1, len(names) + 1))
    return DetectionSource("yolo", root, names, cat_ids, splits, issues)


def _from_yaml(spec: Path) -> tuple[list[str], dict[str, list[Path]], Path]:
    try:
        d = yaml.safe_load(read_text(spec)) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise DatasetError(f"{spec}{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(d, dict):
        raise DatasetError(f"{spec}: expected a mapping with train/val/names")
    names = names_of(d.get("names"), spec)
    base = spec.parent
    if d.get("path"):
        p = Path(str(d["path"]))
        base = p if p.is_absolute() else (spec.parent / p)
    lists = {}
    for key in ("train", "val", "test"):
        if d.get(key):
            entries = d[key] if isinstance(d[key], list) else [d[key]]
            lists[key] = [img for e in entries for img in _images_of(str(e), base, spec)]
    if not lists:
        raise DatasetError(f"{spec}: no 'train' or 'val' entry", hint="add train: and val: paths")
    return names, lists, spec.parent


def _images_of(entry: str, base: Path, spec: Path) -> list[Path]:
    candidates = [base / entry, spec.parent / entry]
    if entry.startswith("../"):  # Roboflow writes ../train/images beside data.yaml
        candidates.append(spec.parent / entry[3:])
    target = next((c for c in candidates if c.exists()), None)
    if target is None:
        raise DatasetError(f"{spec}: '{entry}' not found (looked in {candidates[0].parent})")
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.is_file() and is_image_file(p))
    out = []
    for line in read_text(target).splitlines():
        line = line.strip()
        if line:
            p = Path(line)
            out.append(p if p.is_absolute() else (target.parent / p))
    return out


def _from_folders(root: Path) -> dict[str, list[Path]]:
    images = root / "images"
    lists: dict[str, list[Path]] = {}
    if images.is_dir():
        for sub in sorted(p for p in images.iterdir() if p.is_dir()):
            if sub.name.lower() in SPLIT_ALIASES:
                lists[SPLIT_ALIASES[sub.name.lower()]] = _scan(sub)
        return lists or {ALL: _scan(images)}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name.lower() in SPLIT_ALIASES and (sub / "images").is_dir():
            lists[SPLIT_ALIASES[sub.name.lower()]] = _scan(sub / "images")
    return lists


def _scan(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))


def _names_file(root: Path) -> list[str]:
    for folder in (root, root / "labels"):
        for name in NAME_FILES:
            f = folder / name
            if f.is_file():
                return [ln.strip() for ln in read_text(f).splitlines() if ln.strip()]
    raise DatasetError(
        f"{root}: no classes.txt or data.yaml with class names",
        hint="add classes.txt, one name per line",
    )


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder becomes ``labels``, the suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _record(img: Path, image_id: int, names: list[str], issues: Issues) -> DetectionRecord | None:
    if not img.is_file():
        issues.bad("missing_image", f"image file not found: {img}")
        return None
    w, h = image_size(img)
    rec = DetectionRecord(img, w, h, image_id, [], img.name)
    txt = label_path(img)
    if not txt.is_file():
        return rec
    for lineno, line in enumerate(read_text(txt).splitlines(), start=1):
        where = f"{txt}:{lineno}"
        parts = line.split()
        if not parts:
            continue
        try:
            cls_f, *vals = (float(v) for v in parts)
        except ValueError:
            issues.bad("malformed_file", f"{where}: not numbers: {line.strip()[:60]!r}")
            continue
        problem = line_problem(cls_f, vals)
        if problem:
            issues.bad(
                "malformed_file", f"{where}: {EXPECTED}, got {line.strip()[:60]!r}: {problem}"
            )
            continue
        bad = [v for v in vals if not 0.0 <= v <= 1.0]
        if bad:
            issues.bad(
                "out_of_range",
                f"{where}: value {bad[0]:g} outside [0, 1] (YOLO values are normalised)",
            )
            continue
        cls = int(cls_f)
        if not 0 <= cls < len(names):
            issues.bad(
                "unknown_category",
                f"{where}: class {cls} but only {len(names)} names (0..{len(names) - 1})",
            )
            continue
        if len(vals) > 4:
            obj = polygon_object(vals, cls + 1, w, h, where, issues)
            rec.objects += [obj] if obj is not None else []
            continue
        box = check_box(cxcywh_norm_to_xyxy(vals, w, h)[0].tolist(), w, h, where, issues)
        if box is not None:
            rec.objects.append(ObjectAnn(box, cls + 1))
    return rec


def holds_boxes(path: Path) -> bool:
    """A data YAML given as the file, or a folder that :func:`looks_like_yolo`."""
    if path.is_file():
        return path.suffix.lower() in (".yaml", ".yml")
    return looks_like_yolo(path)


def holds_label_files(path: Path) -> bool:
    """A YOLO data set with ``.txt`` labels, as semantic data (``images/`` + ``labels/`` holding
    mask images is the mask folder layout)."""
    if path.is_file() or find_yolo_yaml(path) or find_darknet_data(path):
        return holds_boxes(path)
    folders = [path / "labels", *(path / s / "labels" for s in SPLIT_ALIASES)]
    return looks_like_yolo(path) and any(
        next(d.rglob("*.txt"), None) is not None for d in folders if d.is_dir()
    )


FORMAT = Format(
    "yolo",
    detect_boxes=holds_boxes,
    read_boxes=read_yolo,
    detect_masks=holds_label_files,
    list_masks=masks_from_boxes(read_yolo),
    keeps_ignore_regions=False,
    write_boxes=lambda dst, splits, class_names, category_ids=None: write_yolo(
        dst, splits, class_names
    ),
)

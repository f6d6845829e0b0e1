"""COCO instances JSON: reader (boxes; segmentation and ``iscrowd`` kept as given), class masks.

Layouts read:

* one annotation file (``instances.json``); images are looked up next to it, in ``images/``
  beside it, or, for the official layout ``annotations/instances_val2017.json``, in ``val2017/``;
* a folder per split, each holding ``_annotations.coco.json`` and its images (Roboflow's export:
  ``train/``, ``valid/``, ``test/``);
* ``annotations/instances_{train,val,test}*.json`` files next to image folders.

Category ids are mapped to contiguous labels 1..K in id order; names are kept. A category that no
annotation uses and that names the ``supercategory`` of the others (Roboflow writes the data set
name as such a category, id 0) is dropped. The raw dict of each split is kept for evaluation.
For semantic segmentation, each image's polygons and RLE are rasterised to a class mask
(0 = background, category k = its contiguous label; :mod:`.box_masks`). The writer is
:mod:`transferkit.data.formats.coco_write`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.boxes import xywh_to_xyxy
from transferkit.data.formats import Format
from transferkit.data.formats import coco_fields as fields
from transferkit.data.formats.box_masks import masks_from_boxes
from transferkit.data.formats.classes_file import CLASSES_FILES
from transferkit.data.formats.coco_write import ROBOFLOW_NAME, write_coco
from transferkit.data.records import (
    ALL,
    SPLIT_ALIASES,
    DetectionRecord,
    DetectionSource,
    Issues,
    ObjectAnn,
    check_box,
)
from transferkit.data.text import read_text


def find_coco_files(path: Path) -> dict[str, Path] | None:
    """Annotation file per split under ``path`` (``{"all": file}`` for one file), or None."""
    if path.is_file():
        return {ALL: path} if path.suffix.lower() == ".json" else None
    found: dict[str, Path] = {}
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        split = SPLIT_ALIASES.get(sub.name.lower())
        if split and (sub / ROBOFLOW_NAME).is_file():
            found[split] = sub / ROBOFLOW_NAME
    ann_dir = path / "annotations"
    if not found and ann_dir.is_dir():
        for f in sorted(ann_dir.glob("*.json")):
            for alias, split in SPLIT_ALIASES.items():
                if f.stem.lower().split("_")[-1].startswith(alias) and split not in found:
                    found[split] = f
                    break
    if found:
        return found
    singles = sorted(path.glob("*.json"))
    if len(singles) == 1:
        return {ALL: singles[0]}
    return None


def read_json_file(path: Path) -> Any:
    """Parse a JSON file; malformed JSON is a :class:`DatasetError` with line and column."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise DatasetError(f"annotation file not found: {path}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(
            f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})",
            hint="repair or re-export the annotation file",
        ) from None


def read_coco(path: Path, issues: Issues) -> DetectionSource:
    """Read a COCO data set (any layout in the module doc) into a :class:`DetectionSource`."""
    files = find_coco_files(path)
    if not files:
        raise DatasetError(f"{path}: no COCO annotation file found", hint="pass the .json file")
    raw = {split: read_json_file(f) for split, f in files.items()}
    for split, d in raw.items():
        check_top(d, files[split])
    names, cat_ids = _categories(raw, files)
    label_of = {cid: i + 1 for i, cid in enumerate(cat_ids)}
    splits = {split: _records(d, files[split], label_of, issues) for split, d in raw.items()}
    root = path if path.is_dir() else path.parent
    return DetectionSource("coco", root, names, cat_ids, splits, issues, coco=raw)


def check_top(d: Any, f: Path) -> None:
    """Raise unless ``d`` has the images / annotations / categories lists of COCO instances."""
    if not isinstance(d, dict):
        raise DatasetError(f"{f}: expected a JSON object with 'images', got {type(d).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(d.get(key), list):
            raise DatasetError(
                f"{f}: missing or invalid '{key}' list",
                hint="a COCO instances file has images, annotations and categories lists",
            )


def _categories(raw: dict[str, dict], files: dict[str, Path]) -> tuple[list[str], list[int]]:
    by_id: dict[int, str] = {}
    used: set[int] = set()
    supers: set[str] = set()
    for split, d in raw.items():
        for c in d["categories"]:
            if not isinstance(c, dict) or "id" not in c or "name" not in c:
                raise DatasetError(f"{files[split]}: category without id or name: {c!r:.80}")
            fields.check_category_id(c, files[split])
            cid, name = c["id"], str(c["name"])
            if by_id.get(cid, name) != name:
                raise DatasetError(
                    f"{files[split]}: category id {cid} is '{name}' here but '{by_id[cid]}' in "
                    "another split",
                    hint="export every split with the same category list",
                )
            by_id[cid] = name
            if c.get("supercategory") not in (None, "", "none", name):
                supers.add(str(c["supercategory"]))
        used.update(a.get("category_id") for a in d["annotations"] if isinstance(a, dict))
    keep = [cid for cid in sorted(by_id) if cid in used or by_id[cid] not in supers]
    if not keep:
        raise DatasetError(f"{next(iter(files.values()))}: the file lists no categories")
    return [by_id[c] for c in keep], keep


def _records(d: dict, f: Path, label_of: dict[int, int], issues: Issues) -> list[DetectionRecord]:
    images: dict[Any, DetectionRecord] = {}
    skipped: set[Any] = set()  # images dropped above: their annotations go with them, uncounted
    names_seen: set[str] = set()
    base: Path | None = None
    for img in d["images"]:
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise DatasetError(f"{f}: image entry without id or file_name: {img!r:.80}")
        where = f"{f}: image id {img['id']} ({img['file_name']})"
        if not isinstance(img["id"], int) or isinstance(img["id"], bool):
            raise DatasetError(f"{where}: image ids must be integers, got {img['id']!r}")
        if img["id"] in images or img["file_name"] in names_seen:
            issues.bad("duplicate_image", f"{where} is listed twice")
            continue  # the first entry with this id keeps its annotations
        path, base = _resolve(f, str(img["file_name"]), base)
        if path is None:
            issues.bad("missing_image", f"{where}: image file not found")
            skipped.add(img["id"])
            continue
        size = fields.size_of(img, where, path, issues)
        if size is None:
            skipped.add(img["id"])
            continue
        w, h = size
        names_seen.add(img["file_name"])
        images[img["id"]] = DetectionRecord(path, w, h, int(img["id"]), [], str(img["file_name"]))
    for ann in d["annotations"]:
        if not (isinstance(ann, dict) and ann.get("image_id") in skipped):
            _add_annotation(ann, f, images, label_of, issues)
    return list(images.values())


def _add_annotation(ann, f: Path, images: dict, label_of: dict[int, int], issues: Issues) -> None:
    if not isinstance(ann, dict):
        raise DatasetError(f"{f}: annotation is not an object: {ann!r:.80}")
    where = f"{f}: annotation id {ann.get('id')}"
    wrong = fields.bad_fields(ann)
    if wrong:
        issues.bad("bad_value", f"{where}: {wrong}", fields.ANNOTATION_HINT)
        return
    rec = images.get(ann.get("image_id"))
    if rec is None:
        issues.bad(
            "missing_image", f"{where} refers to image id {ann.get('image_id')!r}, not listed"
        )
        return
    cid = ann.get("category_id")
    if cid not in label_of:
        issues.bad(
            "unknown_category",
            f"{where} has unknown category id {cid!r} (known: {sorted(label_of)})",
        )
        return
    box = check_box(
        xywh_to_xyxy([float(v) for v in ann["bbox"]])[0].tolist(),
        rec.width,
        rec.height,
        f"{where} ({rec.file_name})",
        issues,
    )
    if box is None:
        return
    area = ann.get("area")
    rec.objects.append(
        ObjectAnn(
            box=box,
            label=label_of[cid],
            iscrowd=bool(ann.get("iscrowd", 0)),
            segmentation=ann.get("segmentation") or None,
            area=float(area) if isinstance(area, (int, float)) else None,
        )
    )


def _resolve(ann_file: Path, name: str, base: Path | None) -> tuple[Path | None, Path | None]:
    """Find an image named in ``ann_file``; the folder that worked first is tried first next."""
    folder = ann_file.parent
    candidates = [folder, folder / "images", folder.parent / "images"]
    if folder.name == "annotations":  # official layout: annotations/instances_val2017.json
        split = ann_file.stem.split("_")[-1]
        candidates[:0] = [folder.parent / split, folder.parent / "images" / split, folder.parent]
    if base is not None:
        candidates.insert(0, base)
    # Label Studio and others write paths of the labelling machine ("..\\upload\\1\\x.jpg"):
    # the name as given first, then its last component.
    name = name.replace("\\", "/")
    for rel in dict.fromkeys([name, Path(name).name]):
        for c in candidates:
            p = c / rel
            if p.is_file():
                return p, c
    return None, base


# --------------------------------------------------------------------------- semantic masks


def _mask_files(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.json")) + sorted(folder.glob("annotations/*.json"))
    found += sorted(folder.glob("*/_annotations.coco.json"))
    return [p for p in found if p.name not in CLASSES_FILES]


def holds_masks(path: Path) -> bool:
    """A COCO file, or a folder with COCO files, read as semantic segmentation data."""
    if path.is_file():
        return path.suffix.lower() == ".json"
    return path.is_dir() and bool(_mask_files(path))


FORMAT = Format(
    "coco",
    detect_boxes=lambda path: bool(find_coco_files(path)),
    read_boxes=read_coco,
    write_boxes=write_coco,
    detect_masks=holds_masks,
    list_masks=masks_from_boxes(read_coco),
)

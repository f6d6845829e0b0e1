"""LabelMe JSON: one ``.json`` per image, read as boxes, instances and class masks, and written.

LabelMe (wkentaro/labelme) saves beside each image a file with ``version``, ``flags``, ``shapes``
(each ``label``, ``points`` ``[[x, y], …]`` in pixels, ``group_id``, ``shape_type``, ``flags``),
``imagePath`` (relative to the json), ``imageData`` (the image in base64, or null),
``imageHeight`` and ``imageWidth``. Read as labelme's own ``labelme2coco`` reads it:

* ``polygon`` is the outline; ``rectangle`` two opposite corners; ``circle`` the centre and a
  point on the circle, outlined by enough points to stay within a pixel of it;
* ``line``, ``linestrip`` and ``point`` mark no area: skipped and counted, never an error;
* shapes with the same label and ``group_id`` are one object in several parts;
* the image is ``imagePath`` beside the json; when that file is missing, the embedded
  ``imageData`` is written once into transferkit's cache (named by its hash) and used;
* classes are those of a ``classes.txt`` (or labelme's ``labels.txt``, whose ``__ignore__`` and
  ``_background_`` lines are dropped) beside the files, else every label found, sorted;
* the files lie in the folder (any depth), or in ``train/``, ``val/``, ``test/`` sub-folders.

The writer puts a ``<stem>.json`` beside each copied image (a ``classes.txt`` keeps the class
order), an object with a segmentation as polygon shapes (one group per object in parts; an RLE
mask traced to one outline, so that its holes stay holes), one without as a rectangle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from transferkit.core import env
from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write_bytes, atomic_write_text, write_json
from transferkit.data.formats import Format
from transferkit.data.formats.box_masks import masks_from_boxes
from transferkit.data.formats.coco import read_json_file
from transferkit.data.formats.polygons import as_polygons, join_parts, polygon_box
from transferkit.data.records import (
    ALL,
    SPLIT_ALIASES,
    DetectionRecord,
    DetectionSource,
    Issues,
    ObjectAnn,
    check_box,
    copy_images,
    dedupe,
    image_size,
)

AREA_SHAPES = ("polygon", "rectangle", "circle")
SKIPPED_SHAPES = ("line", "linestrip", "point", "points")  # no area: counted, not read
NAME_FILES = ("classes.txt", "labels.txt")
LABELME_IGNORED = ("__ignore__", "_background_")  # labelme's labels.txt starts with these
VERSION = "5.5.0"


def is_labelme_file(path: Path) -> bool:
    """A ``.json`` whose first 64 KiB hold a ``"shapes"`` key (COCO files have none)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return head.lstrip().startswith("{") and '"shapes"' in head


def find_files(path: Path) -> dict[str, list[Path]]:
    """LabelMe files under the folder ``path`` per split (first folder a split name, else all)."""
    if not path.is_dir():
        return {}
    found: dict[str, list[Path]] = {}
    for f in sorted(path.rglob("*.json")):
        if f.name not in NAME_FILES and is_labelme_file(f):
            top = f.relative_to(path).parts[0].lower()
            found.setdefault(SPLIT_ALIASES.get(top, ALL), []).append(f)
    return found


def read_labelme(path: Path, issues: Issues, classes: list[str] | None = None) -> DetectionSource:
    """Read a folder of LabelMe files into a :class:`DetectionSource` (see the module doc)."""
    files = find_files(path)
    if not files:
        raise DatasetError(
            f"{path}: no LabelMe .json files found",
            hint="pass the folder holding the .json files labelme saved",
        )
    raw = {split: [(f, _load(f)) for f in fs] for split, fs in files.items()}
    names = classes or _class_names(path, raw)
    label_of = {n: i + 1 for i, n in enumerate(names)}
    splits, next_id = {}, 1
    for split, items in raw.items():
        records = []
        for f, d in items:
            rec = _record(f, d, next_id, label_of, issues)
            if rec is not None:
                records.append(rec)
                next_id += 1
        splits[split] = dedupe(records, f"{path} ({split})", issues)
    return DetectionSource("labelme", path, names, list(range(1, len(names) + 1)), splits, issues)


def _load(f: Path) -> dict[str, Any]:
    d = read_json_file(f)
    if not isinstance(d, dict) or not isinstance(d.get("shapes"), list):
        raise DatasetError(
            f"{f}: not a LabelMe file ('shapes' must be a list)",
            hint="re-save the file in labelme, or move it out of the data folder",
        )
    return d


def _class_names(root: Path, raw: dict[str, list[tuple[Path, dict]]]) -> list[str]:
    for name in NAME_FILES:
        if (root / name).is_file():
            lines = (ln.strip() for ln in (root / name).read_text(encoding="utf-8").splitlines())
            names = [ln for ln in lines if ln and ln not in LABELME_IGNORED]
            if names:
                return names
    found = {
        str(s["label"])
        for items in raw.values()
        for _, d in items
        for s in d["shapes"]
        if isinstance(s, dict) and s.get("label") is not None
    }
    if not found:
        raise DatasetError(f"{root}: the LabelMe files hold no labelled shape")
    return sorted(found)


def _record(
    f: Path, d: dict, image_id: int, label_of: dict[str, int], issues: Issues
) -> DetectionRecord | None:
    image = _image(f, d, issues)
    if image is None:
        return None
    w, h = d.get("imageWidth"), d.get("imageHeight")
    if not (isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0):
        w, h = image_size(image)
    rec = DetectionRecord(image, w, h, image_id, [], str(d.get("imagePath") or image.name))
    groups: dict[Any, tuple[int, list[list[float]]]] = {}
    for i, shape in enumerate(d["shapes"], start=1):
        where = f"{f}: shape {i}"
        parts = _shape(shape, where, label_of, issues)
        if parts is None:
            continue
        label, polygon = parts
        gid = shape.get("group_id")
        key = (label, gid) if gid is not None else ("shape", i)
        groups.setdefault(key, (label, []))[1].append(polygon)
    for key, (label, polygons) in groups.items():
        where = f"{f}: shape group {key[1]}" if key[0] != "shape" else f"{f}: shape {key[1]}"
        box = check_box(polygon_box(polygons), w, h, where, issues)
        if box is not None:
            rec.objects.append(ObjectAnn(box, label, segmentation=polygons))
    return rec


def _image(f: Path, d: dict, issues: Issues) -> Path | None:
    """The image of ``f``: ``imagePath`` beside it, else its embedded ``imageData``."""
    name = str(d.get("imagePath") or "").replace("\\", "/")
    for candidate in dict.fromkeys([name, Path(name).name] if name else []):
        if (f.parent / candidate).is_file():
            return f.parent / candidate
    data = d.get("imageData")
    if isinstance(data, str) and data:
        try:
            raw = base64.b64decode(data, validate=True)
            with Image.open(io.BytesIO(raw)) as im:
                suffix = "." + (im.format or "png").lower().replace("jpeg", "jpg")
        except (binascii.Error, ValueError, OSError) as e:
            issues.bad(
                "missing_image", f"{f}: image {name!r} not found and imageData unreadable ({e})"
            )
            return None
        cached = env.home() / "labelme" / f"{hashlib.sha256(raw).hexdigest()[:24]}{suffix}"
        if not cached.is_file():
            atomic_write_bytes(cached, raw)
        return cached
    issues.bad(
        "missing_image",
        f"{f}: image {name!r} not found beside it and the file has no imageData",
    )
    return None


def _shape(shape: Any, where: str, label_of: dict[str, int], issues: Issues):
    """``(label, polygon)`` of an area shape; None for a skipped or bad one (counted)."""
    if not isinstance(shape, dict):
        issues.bad("bad_shape", f"{where}: expected an object, got {shape!r:.60}")
        return None
    kind = str(shape.get("shape_type") or "polygon")
    if kind in SKIPPED_SHAPES:
        issues.note("shape_without_area", f"{where}: a {kind} shape marks no area; skipped")
        return None
    label = shape.get("label")
    if kind not in AREA_SHAPES:
        issues.bad(
            "bad_shape",
            f"{where}: shape_type {kind!r} is not read "
            f"(read: {', '.join(AREA_SHAPES)}; skipped: {', '.join(SKIPPED_SHAPES)})",
        )
        return None
    if str(label) not in label_of:
        issues.bad(
            "unknown_category",
            f"{where}: label {label!r} is not one of the classes ({', '.join(label_of)})",
        )
        return None
    try:
        pts = np.asarray(shape.get("points"), dtype=np.float64)
    except (TypeError, ValueError):
        pts = np.zeros((0, 0))
    need = 3 if kind == "polygon" else 2
    count = len(pts) if pts.ndim == 2 and pts.shape[1] == 2 and np.isfinite(pts).all() else 0
    if count < need or (kind != "polygon" and count != 2):
        issues.bad(
            "bad_shape",
            f"{where}: a {kind} needs {need}{'+' if need == 3 else ''} "
            f"[x, y] points, got {shape.get('points')!r:.60}",
        )
        return None
    return label_of[str(label)], _outline(kind, pts)


def _outline(kind: str, pts: np.ndarray) -> list[float]:
    if kind == "rectangle":
        (x1, x2), (y1, y2) = sorted(pts[:, 0]), sorted(pts[:, 1])
        pts = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])
    elif kind == "circle":
        (cx, cy), edge = pts
        r = float(np.hypot(*(edge - pts[0])))
        # labelme2coco's count: the chord of each step leaves the circle by at most a pixel.
        n = max(int(np.pi / np.arccos(1 - 1 / r)), 12) if r > 1 else 12
        a = 2 * np.pi * np.arange(n) / n
        pts = np.stack([cx + r * np.sin(a), cy + r * np.cos(a)], axis=1)
    return [float(v) for v in pts.reshape(-1)]


def write_labelme(
    dst: Path, splits: dict[str, list[DetectionRecord]], class_names: list[str], category_ids=None
) -> list[Path]:
    """Write each split (``dst`` or ``dst/<split>``) as images with a LabelMe file beside each.

    Crowd regions and VOC ``difficult`` objects are left out: LabelMe cannot mark a region
    "ignore". Returns the files written.
    """
    written = []
    for split, records in splits.items():
        folder = dst if split == ALL else dst / split
        folder.mkdir(parents=True, exist_ok=True)
        for r, name in zip(records, copy_images(records, folder), strict=True):
            shapes = []
            for o in r.objects:
                if not (o.iscrowd or o.difficult):
                    shapes += _shapes_of(o, r, class_names, group=len(shapes) + 1)
            d = {
                "version": VERSION,
                "flags": {},
                "shapes": shapes,
                "imagePath": name,
                "imageData": None,
                "imageHeight": r.height,
                "imageWidth": r.width,
            }
            written.append(write_json(folder / f"{Path(name).stem}.json", d))
    atomic_write_text(dst / "classes.txt", "".join(n + "\n" for n in class_names))
    return written


def _shapes_of(o: ObjectAnn, r: DetectionRecord, class_names: list[str], group: int) -> list:
    where = f"{r.file_name or r.path.name} (image id {r.image_id})"
    seg = o.segmentation
    polygons = [] if seg is None else as_polygons(seg, r.height, r.width, where)
    if polygons and isinstance(seg, dict):  # traced RLE: one outline, so its holes stay holes
        polygons = [join_parts(polygons)]
    if polygons:
        parts = [np.asarray(p).reshape(-1, 2).tolist() for p in polygons]
        kind, gid = "polygon", group if len(polygons) > 1 else None
    else:  # no segmentation (or an empty RLE): the box
        parts, kind, gid = [[list(o.box[:2]), list(o.box[2:])]], "rectangle", None
    label = class_names[o.label - 1]
    keys = ("label", "points", "group_id", "description", "shape_type", "flags")
    return [dict(zip(keys, (label, pts, gid, "", kind, {}), strict=True)) for pts in parts]


FORMAT = Format(
    "labelme",
    detect_boxes=lambda path: bool(find_files(path)),
    read_boxes=read_labelme,
    write_boxes=write_labelme,
    detect_masks=lambda path: bool(find_files(path)),
    list_masks=masks_from_boxes(read_labelme),
    keeps_ignore_regions=False,
)

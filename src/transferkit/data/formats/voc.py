"""Pascal VOC: XML boxes (reader and writer) and ``SegmentationClass`` masks.

Layouts: LabelImg's one folder of images with an XML beside each; or ``Annotations/*.xml``,
``JPEGImages/*`` and optionally
``ImageSets/Main/{train,val,test}.txt`` (``trainval.txt`` serves as train when there is no
``train.txt``); the root may also be a ``VOCdevkit`` folder holding one ``VOC*`` data set. Without
ImageSets every XML is read and the images are split by seed.

VOC boxes are 1-based pixel indices, inclusive (``xmin = 1`` is the first column). They become
pixel-edge XYXY as detectron2 and torchvision's references do: ``x1 = xmin - 1``, ``x2 = xmax``.
The writer applies the inverse. ``difficult`` is kept on each object. Class order comes from
``classes.txt`` (one name per line) or CVAT's ``labelmap.txt`` when present, else the names
found, sorted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write_text
from transferkit.data.formats import Format
from transferkit.data.formats.classes_file import find_classes_file, read_classes_file
from transferkit.data.formats.mask_folder import Listing, SegSample, image_files
from transferkit.data.images import IMAGE_EXTENSIONS
from transferkit.data.records import (
    ALL,
    DetectionRecord,
    DetectionSource,
    Issues,
    ObjectAnn,
    check_box,
    copy_images,
    dedupe,
    image_size,
)
from transferkit.data.text import number_in, read_text

SPLIT_FILES = {"train": ("train", "trainval"), "val": ("val",), "test": ("test",)}


def find_voc_root(path: Path) -> Path | None:
    """The folder holding ``Annotations/`` (``path`` itself or a ``VOC*`` folder below it), or a
    LabelImg folder (VOC XML files beside the images)."""
    if not path.is_dir():
        return None
    if (path / "Annotations").is_dir():
        return path
    for sub in sorted(path.glob("*/Annotations")) + sorted(path.glob("*/*/Annotations")):
        return sub.parent
    first = next(iter(sorted(path.glob("*.xml"))), None)
    if first is not None and "<annotation" in first.read_text(errors="replace")[:2000]:
        return path
    return None


def _folders(root: Path) -> tuple[Path, Path]:
    """(annotation folder, image folder): VOC's two, or LabelImg's one."""
    if (root / "Annotations").is_dir():
        return root / "Annotations", root / "JPEGImages"
    return root, root


def read_voc(path: Path, issues: Issues) -> DetectionSource:
    """Read a VOC data set into a :class:`DetectionSource`."""
    root = find_voc_root(path)
    if root is None:
        raise DatasetError(f"{path}: no Annotations/ folder", hint="pass the VOC data set folder")
    ids = _split_ids(root)
    parsed = {}
    for stems in ids.values():
        for stem in stems:
            if stem not in parsed:
                parsed[stem] = _parse(_folders(root)[0] / f"{stem}.xml", root, issues)
    names = _class_names(root, [o for p in parsed.values() if p for o in p[3]])
    label_of = {n: i + 1 for i, n in enumerate(names)}
    image_ids = {stem: i + 1 for i, stem in enumerate(sorted(parsed))}
    splits: dict[str, list[DetectionRecord]] = {}
    for split, stems in ids.items():
        records = []
        for stem in stems:
            if parsed[stem] is None:
                continue
            xml, img, (w, h), objects = parsed[stem]
            rec = DetectionRecord(img, w, h, image_ids[stem], [], img.name)
            for i, (name, box, difficult) in enumerate(objects):
                where = f"{xml}: object {i + 1} ('{name}')"
                if name not in label_of:
                    issues.bad("unknown_category", f"{where}: class not in {root}/classes list")
                    continue
                clipped = check_box(box, w, h, where, issues)
                if clipped is not None:
                    rec.objects.append(ObjectAnn(clipped, label_of[name], difficult=difficult))
            records.append(rec)
        splits[split] = dedupe(records, f"{root}/ImageSets/Main/{split}.txt", issues)
    return DetectionSource("voc", root, names, list(range(1, len(names) + 1)), splits, issues)


def _split_ids(root: Path) -> dict[str, list[str]]:
    main = root / "ImageSets" / "Main"
    out: dict[str, list[str]] = {}
    for split, candidates in SPLIT_FILES.items():
        for name in candidates:
            f = main / f"{name}.txt"
            if f.is_file():
                # A list may repeat an id; keep the repeats so that dedupe reports them.
                out[split] = [ln.split()[0] for ln in read_text(f).splitlines() if ln.strip()]
                break
    if out:
        return out
    return {ALL: sorted(p.stem for p in _folders(root)[0].glob("*.xml"))}


def _parse(xml: Path, root: Path, issues: Issues):
    """``(xml, image path, (w, h), [(name, box, difficult)])`` or None when skipped."""
    if not xml.is_file():
        issues.bad("missing_annotation", f"{xml}: annotation file listed in ImageSets is missing")
        return None
    try:
        tree = ET.parse(xml)
    except ET.ParseError as e:
        line, col = e.position
        message = f"{xml}:{line}:{col}: not valid XML ({e.msg if hasattr(e, 'msg') else e})"
        issues.bad("malformed_file", message)
        return None
    ann = tree.getroot()
    filename = (ann.findtext("filename") or "").strip()
    img = _image_path(root, xml.stem, filename)
    if img is None:
        where = _folders(root)[1]
        issues.bad("missing_image", f"{xml}: image '{filename or xml.stem}' not in {where}")
        return None
    try:
        w = int(number_in(ann.findtext("size/width") or "0", "width"))
        h = int(number_in(ann.findtext("size/height") or "0", "height"))
        if w <= 0 or h <= 0:  # LabelImg writes 0 x 0 when it never loaded the image
            w, h = image_size(img)
        objects = []
        for i, obj in enumerate(ann.findall("object")):
            bb = obj.find("bndbox")
            name = (obj.findtext("name") or "").strip()
            if bb is None or not name:
                raise ValueError(f"object {i + 1} has no name or no bndbox")
            xmin, ymin, xmax, ymax = (
                number_in(bb.findtext(k), k) for k in ("xmin", "ymin", "xmax", "ymax")
            )
            difficult = (obj.findtext("difficult") or "0").strip() in ("1", "true")
            objects.append((name, (xmin - 1.0, ymin - 1.0, xmax, ymax), difficult))
    except (TypeError, ValueError) as e:
        issues.bad("malformed_file", f"{xml}: malformed VOC annotation ({e})")
        return None
    return xml, img, (w, h), objects


def _image_path(root: Path, stem: str, filename: str) -> Path | None:
    folder = _folders(root)[1]
    if filename and (folder / filename).is_file():
        return folder / filename
    for ext in IMAGE_EXTENSIONS:  # exports often carry a stale <filename>; the stem is reliable
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def _class_names(root: Path, objects: list) -> list[str]:
    classes = root / "classes.txt"
    if classes.is_file():
        return [ln.strip() for ln in read_text(classes).splitlines() if ln.strip()]
    labelmap = root / "labelmap.txt"
    if labelmap.is_file():  # CVAT: "name:r,g,b:parts:actions", '#' comments, background first
        names = [ln.split(":")[0].strip() for ln in read_text(labelmap).splitlines()]
        return [n for n in names if n and not n.startswith("#") and n != "background"]
    names = sorted({name for name, _, _ in objects})
    if not names:
        raise DatasetError(f"{root}: no objects in any annotation and no classes.txt")
    return names


def write_voc(
    dst: Path, splits: dict[str, list[DetectionRecord]], class_names: list[str]
) -> list[Path]:
    """Write ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt`` and ``classes.txt``.

    COCO crowd regions become ``difficult`` objects (VOC's "ignore in evaluation").
    """
    (dst / "Annotations").mkdir(parents=True, exist_ok=True)
    images = dst / "JPEGImages"
    images.mkdir(parents=True, exist_ok=True)
    all_records = [r for records in splits.values() for r in records]
    names = iter(copy_images(all_records, images))
    written = []
    for split, records in splits.items():
        stems = []
        for r in records:
            name = next(names)
            stem = Path(name).stem
            stems.append(stem)
            xml = dst / "Annotations" / f"{stem}.xml"
            atomic_write_text(xml, _xml(r, name, class_names))
            written.append(xml)
        if split != ALL:
            atomic_write_text(dst / "ImageSets" / "Main" / f"{split}.txt", "\n".join(stems) + "\n")
    atomic_write_text(dst / "classes.txt", "\n".join(class_names) + "\n")
    return written


def _xml(r: DetectionRecord, filename: str, class_names: list[str]) -> str:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for key, value in (("width", r.width), ("height", r.height), ("depth", 3)):
        ET.SubElement(size, key).text = str(value)
    for o in r.objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = class_names[o.label - 1]
        ET.SubElement(obj, "difficult").text = "1" if (o.difficult or o.iscrowd) else "0"
        bb = ET.SubElement(obj, "bndbox")
        x1, y1, x2, y2 = o.box
        for key, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(bb, key).text = _num(value)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- semantic masks


def mask_root(path: Path) -> Path | None:
    if not path.is_dir():
        return None
    candidates = [path, *sorted(path.glob("VOC*")), *sorted(path.glob("VOCdevkit/VOC*"))]
    for c in candidates:
        if (c / "JPEGImages").is_dir() and (c / "SegmentationClass").is_dir():
            return c
    return None


def list_masks(path: Path, on_bad: str = "fail") -> Listing:
    """Images and ``SegmentationClass`` masks of a VOC folder, with ImageSets/Segmentation splits."""
    root = mask_root(path)
    if root is None:
        raise DatasetError(
            f"{path}: not a Pascal VOC folder (needs JPEGImages/ and SegmentationClass/)",
            hint="point --data at the VOC20xx folder, or use --format folder",
        )
    images = {p.stem: p for p in image_files(root / "JPEGImages")}
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
            else sorted(p.stem for p in image_files(masks_dir))
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
    return [ln.strip() for ln in read_text(path).splitlines() if ln.strip()]


FORMAT = Format(
    "voc",
    detect_boxes=lambda path: find_voc_root(path) is not None,
    read_boxes=read_voc,
    write_boxes=lambda dst, splits, class_names, category_ids=None: write_voc(
        dst, splits, class_names
    ),
    detect_masks=lambda path: mask_root(path) is not None,
    list_masks=list_masks,
)

"""YOLO txt labels writer: ``images/<split>/``, ``labels/<split>/``, ``data.yaml``, ``classes.txt``.

Objects with a segmentation become polygon lines, the others box lines (:mod:`.yolo_seg`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from transferkit.core.fileio import atomic_write_text
from transferkit.data.formats.yolo_seg import object_line
from transferkit.data.records import ALL, DetectionRecord, copy_images


def write_yolo(
    dst: Path, splits: dict[str, list[DetectionRecord]], class_names: list[str]
) -> list[Path]:
    """Write ``images/<split>/``, ``labels/<split>/``, ``data.yaml`` and ``classes.txt``.

    Crowd regions and VOC ``difficult`` objects are left out: YOLO has no way to mark a region
    "ignore" (Ultralytics' own VOC conversion drops difficult objects too).
    """
    written = []
    for split, records in splits.items():
        sub = "" if split == ALL else split
        img_dir, lbl_dir = dst / "images" / sub, dst / "labels" / sub
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        for r, name in zip(records, copy_images(records, img_dir), strict=True):
            lines = [object_line(o, r) for o in r.objects if not (o.iscrowd or o.difficult)]
            txt = lbl_dir / f"{Path(name).stem}.txt"
            atomic_write_text(txt, "".join(line + "\n" for line in lines))
            written.append(txt)
    atomic_write_text(dst / "classes.txt", "".join(n + "\n" for n in class_names))
    if ALL not in splits:
        spec = {s: f"images/{s}" for s in splits}
        spec["nc"] = len(class_names)
        spec["names"] = list(class_names)
        atomic_write_text(dst / "data.yaml", yaml.safe_dump(spec, sort_keys=False))
    return written

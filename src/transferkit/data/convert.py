"""Data set conversion between the box formats (COCO, Pascal VOC, YOLO …).

:func:`convert_dataset` reads a data set with the readers of this package and writes it in another
format with every split kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.formats import get_format
from transferkit.data.records import read_source


def convert_dataset(
    src: str | Path,
    dst: str | Path,
    src_format: str = "auto",
    dst_format: str = "coco",
    on_bad: str = "fail",
    strict: bool = False,
) -> dict[str, Any]:
    """Read ``src`` (any supported format) and write it to ``dst`` as ``dst_format``.

    Images are copied; splits are kept (a source without splits stays without). ``dst`` must be
    empty or absent, so a conversion never mixes with older files. Returns a summary: format,
    images and objects per split (as read), annotations skipped or clipped while reading, and
    crowd / difficult regions left out (YOLO and LabelMe cannot mark a region "ignore").
    """
    target = get_format(dst_format, "write_boxes", "target", auto=False)
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DatasetError(
            f"output folder {dst} exists and is not empty", hint="pass a new or empty folder"
        )
    source = read_source(src, src_format, on_bad=on_bad, strict=strict)
    splits = {name: records for name, records in source.splits.items() if records}
    target.write_boxes(dst, splits, source.class_names, source.category_ids)
    ignored = sum(o.iscrowd or o.difficult for rs in splits.values() for r in rs for o in r.objects)
    return {
        "from": source.format,
        "to": dst_format,
        "classes": list(source.class_names),
        "splits": {
            name: {"images": len(rs), "objects": sum(len(r.objects) for r in rs)}
            for name, rs in splits.items()
        },
        "issues": source.issues.summary()["counts"],
        "ignore_regions_dropped": 0 if target.keeps_ignore_regions else ignored,
    }

"""The types of a COCO file's fields, checked before use: a number written as text, an ``iscrowd``
that is not 0 or 1, an image size that is not a pixel count. Each is named with its file, image or
annotation id and the fix; :mod:`transferkit.data.formats.coco` calls these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.records import Issues, image_size

NUMBER_HINT = "write numbers without quotes"
ANNOTATION_HINT = f'{NUMBER_HINT}; "iscrowd": 0 or 1; "bbox": [x, y, width, height]'


def is_int(value: Any) -> bool:
    """An integer (an integral float too), never a bool or text."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and float(value).is_integer()


def size_of(img: dict, where: str, path: Path, issues: Issues) -> tuple[int, int] | None:
    """The image's width and height as the file gives them (read from the image when it gives
    none or 0, as tools that never loaded the image write); None: refused (counted)."""
    w, h = img.get("width"), img.get("height")
    if not w or not h:
        return image_size(path)
    if not (is_int(w) and is_int(h) and w > 0 and h > 0):
        hint = f'{NUMBER_HINT}: "width": 640, "height": 480 (or leave both out)'
        issues.bad("bad_value", f"{where}: width {w!r} / height {h!r} are not pixel counts", hint)
        return None
    return int(w), int(h)


def bad_fields(ann: dict) -> str | None:
    """What is wrong with the types of an annotation's fields (None: nothing)."""
    cid, crowd, bbox = ann.get("category_id"), ann.get("iscrowd", 0), ann.get("bbox")
    if isinstance(cid, (str, bool)):
        return f"category_id {cid!r} is not a number"
    if crowd not in (0, 1):  # "0" and "yes" too: bool("0") would make every object a crowd
        return f"iscrowd {crowd!r} must be 0 or 1"
    if not (isinstance(bbox, list) and len(bbox) == 4):
        return f"'bbox' must be [x, y, width, height], got {bbox!r:.80}"
    wrong = [v for v in bbox if isinstance(v, bool) or not isinstance(v, (int, float))]
    return f"bbox {bbox!r:.80} holds {wrong[0]!r}, not a number" if wrong else None


def check_category_id(category: dict, f: Path) -> None:
    """Raise unless the category's id is an integer (its name is kept as text)."""
    if not is_int(category["id"]):
        raise DatasetError(
            f"{f}: category {category['name']!r} has id {category['id']!r}, not an integer",
            hint=f'{NUMBER_HINT}: "id": 1',
        )

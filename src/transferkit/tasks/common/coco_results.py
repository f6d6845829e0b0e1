"""COCO results files: written from per-image predictions, read back, and their ground truth.

Detection and instance segmentation write the same results list (instance entries add an RLE
``segmentation``); every entry also carries ``file_name``, so scoring can match results to the
images of an annotation file whose ids differ. Results from other tools are read here too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from transferkit.core.errors import DatasetError
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.formats.coco import check_top, find_coco_files, read_json_file
from transferkit.data.formats.coco_fields import is_int
from transferkit.data.formats.coco_write import records_to_coco
from transferkit.data.records import ALL, detect_format, read_source
from transferkit.data.text import read_text


def to_coco_results(predictions: list[dict]) -> list[dict]:
    """Flatten per-image predictions into a COCO results list (``bbox`` as x, y, w, h)."""
    results = []
    for p in predictions:
        for d in p["detections"]:
            entry = {
                "image_id": p["image_id"],
                "file_name": p["file_name"],
                "category_id": d["category_id"],
                "bbox": [round(v, 2) for v in xyxy_to_xywh_list(d["box"])],
            }
            if "segmentation" in d:
                entry["segmentation"] = d["segmentation"]
            entry["score"] = d["score"]
            results.append(entry)
    return results


def read_results(path: Path, shape: str = "bbox") -> list[dict]:
    """A COCO results list made by any tool (a dict wrapping it as ``annotations`` is accepted),
    each result checked (:func:`check_result`); ``shape`` is the key every result must carry."""
    try:
        data = json.loads(read_text(path))
    except FileNotFoundError:
        raise DatasetError(f"predictions file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]  # some tools wrap results in a COCO-like dict
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(
            f"{path}: expected a COCO results list of objects, got {type(data).__name__}",
            hint="a results file is a JSON list of {image_id, category_id, bbox, score} objects",
        )
    for i, r in enumerate(data):
        check_result(r, shape, f"{path}: result #{i} (image_id {r.get('image_id')!r})")
    return [dict(r) for r in data]


RESULT_HINT = (
    "each result is {image_id (or file_name), category_id, bbox [x, y, width, height] in pixels, "
    "score in [0, 1]}"
)


def check_result(r: dict, shape: str, where: str) -> None:
    """Raise unless ``r`` has an image, a category, a score in [0, 1] and a box of size >= 0."""
    needed = ("image_id" if "file_name" not in r else "file_name", "category_id", "score", shape)
    missing = [k for k in needed if k not in r]
    if missing:
        raise DatasetError(f"{where} has no '{missing[0]}'", hint=RESULT_HINT)
    if not is_int(r["category_id"]):
        raise DatasetError(f"{where}: category_id {r['category_id']!r} is not an integer")
    score = r["score"]
    if not _finite(score) or not 0 <= score <= 1:
        raise DatasetError(
            f"{where}: score {score!r} is not in [0, 1]",
            hint="write confidences as probabilities (after sigmoid / softmax), as COCO results do",
        )
    box = r.get("bbox")
    if box is None and shape != "bbox":
        return
    if not (isinstance(box, list) and len(box) == 4 and all(_finite(v) for v in box)):
        raise DatasetError(f"{where}: bbox {box!r:.80} is not 4 numbers", hint=RESULT_HINT)
    if box[2] < 0 or box[3] < 0:
        raise DatasetError(
            f"{where}: bbox {box} has a negative width or height",
            hint="COCO boxes are [x, y, width, height], not [x1, y1, x2, y2] in another order",
        )


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def image_sizes(gt: dict, data_path: Path) -> dict:
    """``{image id: (height, width)}`` of a COCO ground truth; each image must give both."""
    sizes = {}
    for img in gt["images"]:
        h, w = img.get("height"), img.get("width")
        if not (is_int(h) and is_int(w) and h > 0 and w > 0):
            raise DatasetError(
                f"{data_path}: image id {img.get('id')} ({img.get('file_name')}) has width "
                f"{w!r} / height {h!r}; instance masks need both",
                hint='add "width" and "height" (pixels) to every image of the annotation file',
            )
        sizes[img["id"]] = (int(h), int(w))
    return sizes


def ground_truth(data_path: Path, split: str | None = None) -> dict:
    """The COCO ground-truth dict to score against, for any supported format.

    COCO files are used as they are, without looking for the images; VOC and YOLO data sets are
    read (YOLO needs the images for their sizes) and converted. A folder with splits is scored on
    ``split`` (default val, else test).
    """
    if detect_format(data_path) == "coco":
        files = find_coco_files(data_path) or {}
        chosen = _pick_split(data_path, files, split)
        raw = read_json_file(files[chosen])
        check_top(raw, files[chosen])
        for img in raw["images"]:
            if not (isinstance(img, dict) and "id" in img and "file_name" in img):
                raise DatasetError(
                    f"{files[chosen]}: image entry without id or file_name: {img!r:.80}"
                )
        return raw
    source = read_source(data_path, "auto", on_bad="skip")
    chosen = _pick_split(data_path, {k: v for k, v in source.splits.items() if v}, split)
    return records_to_coco(source.splits[chosen], source.class_names, source.category_ids)


def _pick_split(data_path: Path, available: dict, split: str | None) -> str:
    order = [split] if split else ["val", "test", ALL, "train"]
    chosen = next((n for n in order if n in available), None)
    if chosen is None:
        raise DatasetError(
            f"{data_path} has no '{split}' split (has: {', '.join(available) or 'none'})",
            hint="pick one of the data set's splits",
        )
    return chosen


def match_by_file_name(results: list[dict], gt: dict) -> dict[str, int]:
    """Image ids of ``gt`` by file name; each result's ``file_name`` (dropped) sets its id."""
    by_name = {Path(img["file_name"]).name: img["id"] for img in gt["images"]}
    for r in results:
        name = Path(str(r.pop("file_name", ""))).name
        if name in by_name:
            r["image_id"] = by_name[name]
    return by_name

"""Detection predictions: run a trained detector on files, write COCO results, draw, score.

A prediction is one dict per image: ``path``, ``file_name``, ``image_id`` (1.. in input order),
``width``, ``height`` and ``detections`` (``box`` XYXY pixels, ``label`` name, ``category_id``,
``score``). :func:`write_predictions` turns them into a COCO results list; every entry also
carries ``file_name``, so :func:`evaluate_predictions` can match results to the images of an
annotation file whose ids differ (results from other tools are matched by ``image_id``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from PIL import ImageDraw, ImageFont
from torchvision.transforms.v2 import functional as TF

from transferkit.data.records import ALL, detect_format, read_source
from transferkit.data.images import is_image_file, load_image_rgb
from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write, read_json, write_json
from transferkit.render.draw import COLOURS
from transferkit.tasks.common.coco_eval import evaluate_coco


def list_images(paths: list[str | Path]) -> list[Path]:
    """Image files named directly or found (recursively, sorted) in folders."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f))
        elif p.is_file():
            out.append(p)
        else:
            raise DatasetError(f"no such file or folder: {p}", hint="check the paths to predict")
    if not out:
        raise DatasetError(f"no image files in {', '.join(map(str, paths))}")
    return out


@torch.no_grad()
def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict]:
    """Detections of ``run`` (a ``RunHandle``) on image files or folders.

    ``options``: ``score_threshold`` (default 0.05, COCO practice; raise it for drawing),
    ``draw_dir`` (write each image with its boxes drawn).
    """
    from transferkit.data.transforms.detection import eval_transform, image_size_of
    from transferkit.tasks.detect.task import to_original

    files = list_images(paths)
    given = options.get("score_threshold")
    threshold = 0.05 if given is None else float(given)
    category_ids = _category_ids(run)
    transform = eval_transform(image_size_of(run.config))
    model = run.model.eval()
    device = next(model.parameters()).device
    predictions = []
    for image_id, f in enumerate(files, start=1):
        pil = load_image_rgb(f)
        img = transform(TF.pil_to_tensor(pil)).to(device)
        out = model([img])[0]  # one image at a time, unpadded, exactly as in evaluation
        out = to_original(out, img.shape[-2:], (pil.height, pil.width))
        keep = out["scores"] >= threshold
        dets = [
            {
                "box": [round(v, 2) for v in box],
                "label": run.class_names[label - 1],
                "category_id": category_ids[label - 1],
                "score": round(score, 5),
            }
            for box, label, score in zip(
                out["boxes"][keep].tolist(),
                out["labels"][keep].tolist(),
                out["scores"][keep].tolist(),
                strict=True,
            )
        ]
        predictions.append(
            {
                "path": str(f),
                "file_name": f.name,
                "image_id": image_id,
                "width": pil.width,
                "height": pil.height,
                "detections": dets,
            }
        )
    if options.get("draw_dir"):
        draw_predictions(predictions, Path(options["draw_dir"]))
    return predictions


def _category_ids(run) -> list[int]:
    """The data set's own category ids (kept in the run's data.json), else 1..K."""
    path = run.run_dir.data_summary
    ids = read_json(path).get("category_ids") if path.is_file() else None
    return (
        list(ids)
        if ids and len(ids) == len(run.class_names)
        else list(range(1, len(run.class_names) + 1))
    )


def write_predictions(predictions: list[dict], out: Path) -> Path:
    """Write a COCO results JSON (``image_id``, ``category_id``, ``bbox`` xywh, ``score``)."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise DatasetError(
            f"detection predictions are written as COCO JSON; got {out}", hint="use --out FILE.json"
        )
    return write_json(out, to_coco_results(predictions))


def to_coco_results(predictions: list[dict]) -> list[dict]:
    """Flatten per-image predictions into a COCO results list."""
    results = []
    for p in predictions:
        for d in p["detections"]:
            x1, y1, x2, y2 = d["box"]
            results.append(
                {
                    "image_id": p["image_id"],
                    "file_name": p["file_name"],
                    "category_id": d["category_id"],
                    "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                    "score": d["score"],
                }
            )
    return results


def draw_predictions(predictions: list[dict], folder: Path) -> list[Path]:
    """Save each image with its boxes, labels and scores drawn (PNG, one per input image)."""
    folder.mkdir(parents=True, exist_ok=True)
    font = ImageFont.load_default()
    written, taken = [], set()
    for p in predictions:
        im = load_image_rgb(p["path"])
        draw = ImageDraw.Draw(im)
        for d in p["detections"]:
            colour = COLOURS[(d["category_id"] - 1) % len(COLOURS)]
            x1, y1, x2, y2 = d["box"]
            draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=colour, width=2)
            text = f"{d['label']} {d['score']:.2f}"
            tx, ty = x1, max(0, y1 - 11)
            left, top, right, bottom = draw.textbbox((tx, ty), text, font=font)
            draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=colour)
            draw.text((tx, ty), text, fill=(0, 0, 0), font=font)
        name = Path(p["file_name"]).stem
        while name in taken:
            name += "_"
        taken.add(name)
        target = folder / f"{name}.png"
        atomic_write(target, lambda path, im=im: im.save(path, format="PNG"))
        written.append(target)
    return written


def evaluate_predictions(data_path: Path, predictions: Path, options: dict[str, Any]) -> dict:
    """COCO mAP of a results JSON against the annotations at ``data_path`` (any format).

    A COCO annotation file is used as it is (its own image and category ids, pycocotools'
    numbers). A folder with splits is scored on ``options["split"]`` (default val, else test).
    """
    results = _read_results(Path(predictions))
    gt = ground_truth(Path(data_path), options.get("split"))
    by_name = {Path(img["file_name"]).name: img["id"] for img in gt["images"]}
    for r in results:
        if "file_name" in r and Path(str(r["file_name"])).name in by_name:
            r["image_id"] = by_name[Path(str(r["file_name"])).name]
        elif isinstance(r.get("image_id"), str) and Path(r["image_id"]).stem in _stems(by_name):
            r["image_id"] = _stems(by_name)[Path(r["image_id"]).stem]
        r.pop("file_name", None)
    metrics = evaluate_coco(gt, results, "bbox")
    return {**metrics, "images": len(gt["images"]), "detections": len(results)}


def _stems(by_name: dict[str, int]) -> dict[str, int]:
    return {Path(n).stem: i for n, i in by_name.items()}


def _read_results(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"predictions file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]  # some tools wrap results in a COCO-like dict
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a COCO results list, got {type(data).__name__}")
    return [dict(r) if isinstance(r, dict) else r for r in data]


def ground_truth(data_path: Path, split: str | None = None) -> dict:
    """The COCO ground-truth dict to score against, for any supported format.

    COCO files are used as they are, without looking for the images; VOC and YOLO data sets are
    read (YOLO needs the images for their sizes) and converted.
    """
    from transferkit.data.formats.coco import check_top, find_coco_files, read_json_file, records_to_coco

    if detect_format(data_path) == "coco":
        files = find_coco_files(data_path) or {}
        chosen = _pick_split(data_path, files, split)
        raw = read_json_file(files[chosen])
        check_top(raw, files[chosen])
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

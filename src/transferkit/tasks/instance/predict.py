"""Instance segmentation predictions: COCO ``segm`` results (RLE) out, overlays, and scoring.

A prediction is one dict per image, as for detection (``path``, ``file_name``, ``image_id``,
``width``, ``height``, ``detections``), each detection adding ``segmentation``: the binary mask
as compressed COCO RLE at the original image size. :func:`write_predictions` writes the COCO
results list (``bbox`` and ``segmentation`` per entry, plus ``file_name`` so results can be
matched to an annotation file whose ids differ). :func:`evaluate_predictions` scores any tool's
results file with COCO mask AP (and box AP when the entries carry boxes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.transforms.v2 import functional as TF

from transferkit.data.images import load_image_rgb
from transferkit.data.masks import (
    check_segmentation,
    mask_to_rle,
    rle_to_mask,
    segmentation_to_mask,
)
from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write, read_json, write_json
from transferkit.render.draw import COLOURS
from transferkit.tasks.common.coco_eval import evaluate_coco

LABEL_MIN_WIDTH = 40  # pixels; narrower boxes are drawn without their label and score


@torch.no_grad()
def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict]:
    """Instances found by ``run`` (a ``RunHandle``) in image files or folders.

    ``options``: ``score_threshold`` (default 0.05), ``draw_dir`` (overlays of masks and boxes).
    """
    from transferkit.tasks.classify.predict import collect_images
    from transferkit.data.transforms.detection import eval_transform, image_size_of
    from transferkit.tasks.instance.task import to_original

    threshold = float(options.get("score_threshold") or 0.05)
    category_ids = _category_ids(run)
    transform = eval_transform(image_size_of(run.config))
    model = run.model.eval()
    device = next(model.parameters()).device
    predictions = []
    for image_id, f in enumerate(collect_images(paths), start=1):
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil)).to(device)
        out = to_original(model([image])[0], image.shape[-2:], (pil.height, pil.width))
        keep = (out["scores"] >= threshold).cpu()
        masks = out["masks"].cpu().numpy()[keep.numpy()]
        dets = []
        for k, (box, label, score) in enumerate(
            zip(
                out["boxes"][keep].tolist(),
                out["labels"][keep].tolist(),
                out["scores"][keep].tolist(),
                strict=True,
            )
        ):
            dets.append(
                {
                    "box": [round(v, 2) for v in box],
                    "label": run.class_names[label - 1],
                    "category_id": category_ids[label - 1],
                    "score": round(score, 5),
                    "segmentation": mask_to_rle(masks[k]),
                }
            )
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
            overlay = draw_instances(pil, dets)
            name = f"{image_id:05d}_{f.stem}.png"
            atomic_write(
                Path(options["draw_dir"]) / name, lambda p, im=overlay: im.save(p, format="PNG")
            )
    return predictions


def draw_instances(image: Image.Image, detections: list[dict]) -> Image.Image:
    """``image`` with each instance's mask tinted, its box outlined, and its label and score
    (for boxes at least :data:`LABEL_MIN_WIDTH` pixels wide)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32).copy()
    for i, d in enumerate(detections):
        m = rle_to_mask(d["segmentation"], rgb.shape[0], rgb.shape[1]).astype(bool)
        rgb[m] = 0.5 * rgb[m] + 0.5 * np.array(COLOURS[i % len(COLOURS)], dtype=np.float32)
    out = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for i, d in enumerate(detections):
        x1, y1, x2, y2 = d["box"]
        colour = COLOURS[i % len(COLOURS)]
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=colour, width=1)
        if x2 - x1 >= LABEL_MIN_WIDTH:  # on small objects the text would hide the object
            draw.text((x1 + 1, max(0, y1 - 11)), f"{d['label']} {d['score']:.2f}", fill=colour)
    return out


def _category_ids(run) -> list[int]:
    path = run.run_dir.data_summary
    ids = read_json(path).get("category_ids") if path.is_file() else None
    n = len(run.class_names)
    return list(ids) if ids and len(ids) == n else list(range(1, n + 1))


def write_predictions(predictions: list[dict], out: Path) -> Path:
    """Write a COCO results JSON: ``image_id``, ``file_name``, ``category_id``, ``bbox``,
    ``segmentation`` (RLE), ``score``."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise DatasetError(
            f"instance predictions are written as a COCO results JSON; got {out}",
            hint="use --out FILE.json",
        )
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
                    "segmentation": d["segmentation"],
                    "score": d["score"],
                }
            )
    return write_json(out, results)


def evaluate_predictions(data_path: Path, predictions: Path, options: dict[str, Any]) -> dict:
    """COCO mask AP (``mask_map`` …) and box AP (``map`` …) of a results JSON made by any tool.

    Results are matched to the annotation file's images by ``file_name`` when they carry one,
    else by ``image_id``. Polygon or uncompressed-RLE segmentations in the results are encoded as
    COCO expects; an RLE whose size disagrees with its image is an error naming the result.
    """
    from transferkit.tasks.detect.predict import ground_truth

    gt = ground_truth(Path(data_path), options.get("split"))
    sizes = {img["id"]: (int(img["height"]), int(img["width"])) for img in gt["images"]}
    for ann in gt["annotations"]:
        if ann.get("segmentation") is not None and ann.get("image_id") in sizes:
            where = f"{data_path}: annotation id {ann.get('id')}"
            check_segmentation(ann["segmentation"], *sizes[ann["image_id"]], where)
    results = _read_results(Path(predictions))
    by_name = {Path(img["file_name"]).name: img["id"] for img in gt["images"]}
    for i, r in enumerate(results):
        name = Path(str(r.pop("file_name", ""))).name
        if name in by_name:
            r["image_id"] = by_name[name]
        if "segmentation" not in r:
            raise DatasetError(
                f"{predictions}: result #{i} has no 'segmentation'",
                hint="instance results need masks",
            )
        if r["image_id"] in sizes:
            where = f"{predictions}: result #{i} (image id {r['image_id']})"
            check_segmentation(r["segmentation"], *sizes[r["image_id"]], where)
            seg = r["segmentation"]
            if not isinstance(seg, dict) or isinstance(
                seg.get("counts"), list
            ):  # COCO wants compressed RLE
                r["segmentation"] = mask_to_rle(
                    segmentation_to_mask(seg, *sizes[r["image_id"]], where)
                )
    metrics = evaluate_coco(gt, results, "segm", prefix="mask_")
    if results and all(isinstance(r.get("bbox"), list) and len(r["bbox"]) == 4 for r in results):
        metrics.update(
            evaluate_coco(
                gt, [{k: v for k, v in r.items() if k != "segmentation"} for r in results]
            )
        )
    return {**metrics, "images": len(gt["images"]), "detections": len(results)}


def _read_results(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"predictions file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise DatasetError(f"{path}: expected a COCO results list of objects")
    return [dict(r) for r in data]

"""Detection predictions: run a trained (or exported) detector on files, write COCO results, draw,
score any tool's results.

A prediction is one dict per image: ``path``, ``file_name``, ``image_id`` (1.. in input order),
``width``, ``height`` and ``detections`` (``box`` XYXY pixels, ``label`` name, ``category_id``,
``score``). :func:`write_predictions` turns them into a COCO results list; every entry also
carries ``file_name``, so :func:`evaluate_predictions` can match results to the images of an
annotation file whose ids differ (results from other tools are matched by ``image_id``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torchvision.transforms.v2 import functional as TF

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import write_json
from transferkit.data.images import load_image_rgb
from transferkit.data.transforms.detection import DEFAULT_IMG_SIZE, eval_transform
from transferkit.render.draw import draw_boxes, save_png
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.common.coco_results import ground_truth, read_results, to_coco_results
from transferkit.tasks.common.detections import detection_dicts, image_record, to_original
from transferkit.tasks.common.images import collect_images
from transferkit.tasks.common.predict import ModelInfo, Runner, score_threshold, torch_runner


def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict]:
    """Detections of ``run`` (a ``RunHandle``) on image files or folders.

    ``options``: ``score_threshold`` (default 0.05, COCO practice; raise it for drawing),
    ``draw_dir`` (write each image with its boxes drawn).
    """
    return predict_with(model_runner(run.model), ModelInfo.from_run(run), paths, options)


def model_runner(model: torch.nn.Module) -> Runner:
    """The runner of a trained detector: one image (3, H, W) to boxes, labels and scores."""
    # One image at a time, unpadded, exactly as in evaluation.
    return torch_runner(model, lambda m, image: m([image])[0])


def predict_with(
    runner: Runner, info: ModelInfo, paths: list[str | Path], options: dict[str, Any]
) -> list[dict]:
    """The prediction loop of :func:`predict_paths` for any model behind ``runner``."""
    threshold = score_threshold(options)
    transform = eval_transform(int(info.img_size or DEFAULT_IMG_SIZE))
    predictions = []
    for image_id, f in enumerate(collect_images(paths), start=1):
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil))
        out = to_original(runner(image), image.shape[-2:], (pil.height, pil.width))
        dets = detection_dicts(out, threshold, info.class_names, info.category_ids)
        predictions.append(image_record(f, image_id, pil.size, dets))
    if options.get("draw_dir"):
        draw_predictions(predictions, Path(options["draw_dir"]))
    return predictions


def write_predictions(predictions: list[dict], out: Path) -> Path:
    """Write a COCO results JSON (``image_id``, ``category_id``, ``bbox`` xywh, ``score``)."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise DatasetError(
            f"detection predictions are written as COCO JSON; got {out}", hint="use --out FILE.json"
        )
    return write_json(out, to_coco_results(predictions))


def draw_predictions(predictions: list[dict], folder: Path) -> list[Path]:
    """Save each image with its boxes, labels and scores drawn (PNG, one per input image)."""
    written, taken = [], set()
    for p in predictions:
        dets = p["detections"]
        im = draw_boxes(
            load_image_rgb(p["path"]),
            [d["box"] for d in dets],
            [f"{d['label']} {d['score']:.2f}" for d in dets],
            [d["category_id"] - 1 for d in dets],
        )
        name = Path(p["file_name"]).stem
        while name in taken:
            name += "_"
        taken.add(name)
        written.append(save_png(im, folder / f"{name}.png"))
    return written


def evaluate_predictions(data_path: Path, predictions: Path, options: dict[str, Any]) -> dict:
    """COCO mAP of a results JSON against the annotations at ``data_path`` (any format).

    A COCO annotation file is used as it is (its own image and category ids, pycocotools'
    numbers). A folder with splits is scored on ``options["split"]`` (default val, else test).
    """
    results = read_results(Path(predictions))
    gt = ground_truth(Path(data_path), options.get("split"))
    by_name = {Path(img["file_name"]).name: img["id"] for img in gt["images"]}
    by_stem = {Path(n).stem: i for n, i in by_name.items()}
    for r in results:
        if "file_name" in r and Path(str(r["file_name"])).name in by_name:
            r["image_id"] = by_name[Path(str(r["file_name"])).name]
        elif isinstance(r.get("image_id"), str) and Path(r["image_id"]).stem in by_stem:
            r["image_id"] = by_stem[Path(r["image_id"]).stem]
        r.pop("file_name", None)
    metrics = evaluate_coco(gt, results, "bbox")
    return {**metrics, "images": len(gt["images"]), "detections": len(results)}

"""Instance segmentation predictions: COCO ``segm`` results (RLE) out, overlays, and scoring.

A prediction is one dict per image, as for detection (``path``, ``file_name``, ``image_id``,
``width``, ``height``, ``detections``), each detection adding ``segmentation``: the binary mask
as compressed COCO RLE at the original image size. :func:`write_predictions` writes the COCO
results list (``bbox`` and ``segmentation`` per entry, plus ``file_name`` so results can be
matched to an annotation file whose ids differ). :func:`evaluate_predictions` scores any tool's
results file with COCO mask AP (and box AP when the entries carry boxes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import write_json
from transferkit.data.images import load_image_rgb
from transferkit.data.masks import (
    check_segmentation,
    mask_to_rle,
    rle_to_mask,
    segmentation_to_mask,
)
from transferkit.data.transforms.detection import DEFAULT_IMG_SIZE, eval_transform
from transferkit.render.draw import draw_boxes, draw_masks, save_png
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.common.coco_results import (
    ground_truth,
    image_sizes,
    match_by_file_name,
    read_results,
    to_coco_results,
)
from transferkit.tasks.common.detections import (
    detection_dicts,
    image_record,
    to_original_with_masks,
)
from transferkit.tasks.common.images import collect_images
from transferkit.tasks.common.predict import ModelInfo, Runner, score_threshold, torch_runner

LABEL_MIN_WIDTH = 40  # pixels; narrower boxes are drawn without their label and score


def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict]:
    """Instances found by ``run`` (a ``RunHandle``) in image files or folders.

    ``options``: ``score_threshold`` (default 0.05), ``draw_dir`` (overlays of masks and boxes).
    """
    return predict_with(model_runner(run.model), ModelInfo.from_run(run), paths, options)


def model_runner(model: torch.nn.Module) -> Runner:
    """The runner of a trained Mask R-CNN: one image (3, H, W) to boxes, labels, scores, masks."""
    return torch_runner(model, lambda m, image: m([image])[0])


def predict_with(
    runner: Runner, info: ModelInfo, paths: list[str | Path], options: dict[str, Any]
) -> list[dict]:
    """The prediction loop of :func:`predict_paths` for any model behind ``runner``."""
    threshold = score_threshold(options)
    transform = eval_transform(int(info.img_size or DEFAULT_IMG_SIZE))
    draw_dir = Path(options["draw_dir"]) if options.get("draw_dir") else None
    predictions = []
    for image_id, f in enumerate(collect_images(paths), start=1):
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil))
        out = to_original_with_masks(runner(image), image.shape[-2:], (pil.height, pil.width))
        dets = detection_dicts(out, threshold, info.class_names, info.category_ids)
        predictions.append(image_record(f, image_id, pil.size, dets))
        if draw_dir is not None:
            save_png(draw_instances(pil, dets), draw_dir / f"{image_id:05d}_{f.stem}.png")
    return predictions


def draw_instances(image: Image.Image, detections: list[dict]) -> Image.Image:
    """``image`` with each instance's mask tinted, its box outlined, and its label and score
    (for boxes at least :data:`LABEL_MIN_WIDTH` pixels wide); colours follow the instances."""
    keys = list(range(len(detections)))
    h, w = image.height, image.width
    tinted = draw_masks(image, [rle_to_mask(d["segmentation"], h, w) for d in detections], keys)
    return draw_boxes(
        tinted,
        [d["box"] for d in detections],
        [f"{d['label']} {d['score']:.2f}" for d in detections],
        keys,
        width=1,
        filled_labels=False,
        min_label_width=LABEL_MIN_WIDTH,
    )


def write_predictions(predictions: list[dict], out: Path) -> Path:
    """Write a COCO results JSON: ``image_id``, ``file_name``, ``category_id``, ``bbox``,
    ``segmentation`` (RLE), ``score``."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise DatasetError(
            f"instance predictions are written as a COCO results JSON; got {out}",
            hint="use --out FILE.json",
        )
    return write_json(out, to_coco_results(predictions))


def evaluate_predictions(data_path: Path, predictions: Path, options: dict[str, Any]) -> dict:
    """COCO mask AP (``mask_map`` …) and box AP (``map`` …) of a results JSON made by any tool.

    Results are matched to the annotation file's images by ``file_name`` when they carry one,
    else by ``image_id``. Polygon or uncompressed-RLE segmentations in the results are encoded as
    COCO expects; an RLE whose size disagrees with its image is an error naming the result.
    """
    gt = ground_truth(Path(data_path), options.get("split"))
    sizes = image_sizes(gt, Path(data_path))
    for ann in gt["annotations"]:
        if ann.get("segmentation") is not None and ann.get("image_id") in sizes:
            where = f"{data_path}: annotation id {ann.get('id')}"
            check_segmentation(ann["segmentation"], *sizes[ann["image_id"]], where)
    results = read_results(Path(predictions), "segmentation")
    match_by_file_name(results, gt)
    for i, r in enumerate(results):
        if r.get("image_id") in sizes:
            where = f"{predictions}: result #{i} (image id {r['image_id']})"
            check_segmentation(r["segmentation"], *sizes[r["image_id"]], where)
            seg = r["segmentation"]
            if not isinstance(seg, dict) or isinstance(seg.get("counts"), list):
                # COCO wants compressed RLE
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

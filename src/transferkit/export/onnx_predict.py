"""Predict with an exported ``.onnx`` file in onnxruntime, in the same form as a run's predict.

The sidecar next to the model (``model.onnx.json``) gives the task, class names and
preprocessing; the images go through the same transforms as the PyTorch prediction, and the
results have the same keys, so they can be written by the task's own writer (JSON / CSV for
classification, COCO results for detection, index PNGs for segmentation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from transferkit.data.images import load_image_rgb
from transferkit.core.errors import ConfigError, RunDirError
from transferkit.export.onnx_export import SIDECAR_FORMAT, sidecar_path
from transferkit.export.parity import onnx_session
from transferkit.core.fileio import read_json
from transferkit.zoo.backbone import DataConfig


def read_sidecar(onnx_path: str | Path) -> dict[str, Any]:
    """The sidecar of an exported model; errors name the missing or foreign file."""
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise RunDirError(
            f"ONNX model not found: {onnx_path}", hint="export one with `transferkit export RUNDIR`"
        )
    side = sidecar_path(onnx_path)
    if not side.is_file():
        raise ConfigError(
            f"{onnx_path} has no sidecar {side.name} next to it (class names, preprocessing)",
            hint="export with `transferkit export RUNDIR`, which writes both files; keep them "
            "together",
        )
    meta = read_json(side)
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT:
        raise ConfigError(
            f"{side} is not a transferkit export sidecar (format "
            f"{meta.get('format') if isinstance(meta, dict) else None!r}, expected "
            f"{SIDECAR_FORMAT!r})",
            hint="export the run again with `transferkit export RUNDIR`",
        )
    return meta


def predict_onnx(
    onnx_path: str | Path, paths: list[str | Path], out: str | Path | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Predictions of an exported model for image files or folders; ``out`` writes them."""
    from transferkit.tasks import get_task
    from transferkit.tasks.classify.predict import collect_images

    meta = read_sidecar(onnx_path)
    predictors = {
        "classify": _classify,
        "detect": _detect,
        "instance": _detect,
        "segment": _segment,
    }
    task = meta["task"]
    if task not in predictors:
        raise ConfigError(f"{onnx_path}: predicting task {task!r} from ONNX is not available")
    session = onnx_session(onnx_path)
    predictions = predictors[task](session, meta, collect_images(paths), options)
    if out:
        get_task(task).write_predictions(predictions, Path(out))
    return predictions


def _classify(session, meta: dict, files: list[Path], options: dict) -> list[dict[str, Any]]:
    from transferkit.data.transforms.classify import eval_transform

    names = meta["class_names"]
    top_k = int(options.get("top_k") or 1)
    if top_k < 1:
        raise ConfigError(f"invalid --top-k {top_k}: expected 1 or more")
    top_k = min(top_k, len(names))
    transform = eval_transform(DataConfig.from_dict(meta["data_config"]), meta.get("img_size"))
    batch = int(options.get("batch_size") or 32) if meta.get("dynamic_batch") else 1
    out: list[dict[str, Any]] = []
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        images = torch.stack([transform(load_image_rgb(f)) for f in chunk]).numpy()
        logits = torch.from_numpy(session.run(["logits"], {"input": images})[0])
        scores, indices = logits.float().softmax(dim=1).topk(top_k, dim=1)
        for f, s, i in zip(chunk, scores, indices, strict=True):
            ranked = [
                {"label": names[int(j)], "score": float(v)} for v, j in zip(s, i, strict=True)
            ]
            out.append(
                {
                    "path": str(f),
                    "label": ranked[0]["label"],
                    "score": ranked[0]["score"],
                    "top_k": ranked,
                }
            )
    return out


def _detect(session, meta: dict, files: list[Path], options: dict) -> list[dict[str, Any]]:
    """Boxes (detect) or boxes and RLE masks (instance), in the task's own prediction form."""
    from transferkit.data.masks import mask_to_rle
    from transferkit.core.fileio import atomic_write
    from transferkit.tasks.detect import task as detect
    from transferkit.tasks.instance import task as instance
    from transferkit.tasks.detect.predict import draw_predictions
    from transferkit.tasks.instance.predict import draw_instances

    masks = meta["task"] == "instance"
    to_original = instance.to_original if masks else detect.to_original
    names, ids = meta["class_names"], meta["category_ids"]
    threshold = float(options.get("score_threshold") or 0.05)
    transform = detect.eval_transform(int(meta["preprocessing"]["resize"]["shorter_side"]))
    draw_dir = Path(options["draw_dir"]) if options.get("draw_dir") else None
    predictions = []
    for n, f in enumerate(files, start=1):
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil))
        outputs = session.run(None, {"image": image.numpy()})
        raw = {k: torch.from_numpy(v) for k, v in zip(meta_outputs(meta), outputs, strict=True)}
        det = to_original(raw, image.shape[-2:], (pil.height, pil.width))
        keep = det["scores"] >= threshold
        detections = [
            {
                "box": [round(v, 2) for v in box],
                "label": names[label - 1],
                "category_id": ids[label - 1],
                "score": round(score, 5),
            }
            for box, label, score in zip(
                det["boxes"][keep].tolist(),
                det["labels"][keep].tolist(),
                det["scores"][keep].tolist(),
                strict=True,
            )
        ]
        if masks:
            for d, m in zip(detections, det["masks"][keep].numpy(), strict=True):
                d["segmentation"] = mask_to_rle(m)
        predictions.append(
            {
                "path": str(f),
                "file_name": f.name,
                "image_id": n,
                "width": pil.width,
                "height": pil.height,
                "detections": detections,
            }
        )
        if masks and draw_dir is not None:
            overlay = draw_instances(pil, detections)
            target = draw_dir / f"{n:05d}_{f.stem}.png"
            atomic_write(target, lambda p, im=overlay: im.save(p, format="PNG"))
    if draw_dir is not None and not masks:
        draw_predictions(predictions, draw_dir)
    return predictions


def meta_outputs(meta: dict) -> list[str]:
    """Output names of an exported model, in graph order, from its sidecar."""
    return [o["name"] for o in meta["outputs"]]


def _segment(session, meta: dict, files: list[Path], options: dict) -> list[dict[str, Any]]:
    from transferkit.data.datasets.segmentation import segmentation_eval_transform
    from transferkit.core.fileio import atomic_write
    from transferkit.tasks.segment.predict import draw_overlay

    names = meta["class_names"]
    transform = segmentation_eval_transform(DataConfig.from_dict(meta["data_config"]))
    dtype = np.uint8 if len(names) <= 256 else np.uint16
    draw_dir = Path(options["draw_dir"]) if options.get("draw_dir") else None
    out = []
    for f in files:
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil)).unsqueeze(0).numpy()
        logits = session.run(["logits"], {"input": image})[0]
        mask = logits[0].argmax(axis=0).astype(dtype)
        counts = np.bincount(mask.reshape(-1), minlength=len(names))
        out.append(
            {
                "path": str(f),
                "mask": mask,
                "pixels_per_class": {n: int(c) for n, c in zip(names, counts, strict=False)},
            }
        )
        if draw_dir is not None:
            overlay = draw_overlay(pil, mask)
            atomic_write(draw_dir / f"{f.stem}.png", lambda p, im=overlay: im.save(p, format="PNG"))
    return out

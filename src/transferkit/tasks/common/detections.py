"""Outputs of torchvision detectors as the tool hands them out: in original image pixels, as dicts.

A detector sees a resized image; its boxes (and Mask R-CNN's mask probabilities) are mapped back
to the original image before they are scored, written or drawn. Detection and instance
segmentation share these steps, in evaluation and in prediction, with PyTorch or onnxruntime.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from transferkit.data.masks import mask_to_rle

MASK_THRESHOLD = 0.5  # Mask R-CNN's mask probabilities become binary masks at this level


def to_original(pred: dict[str, torch.Tensor], image_hw, orig_hw) -> dict[str, torch.Tensor]:
    """Scale a prediction's boxes from the model's input size back to the original image."""
    (h, w), (oh, ow) = image_hw, orig_hw
    scale = torch.tensor([ow / w, oh / h, ow / w, oh / h], device=pred["boxes"].device)
    boxes = pred["boxes"] * scale
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, ow)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, oh)
    return {**pred, "boxes": boxes}


def to_original_with_masks(
    pred: dict[str, torch.Tensor], image_hw, orig_hw
) -> dict[str, torch.Tensor]:
    """Boxes and binary masks of a prediction mapped from the model input to the original image."""
    out = to_original(pred, image_hw, orig_hw)
    probs = pred["masks"].float()
    if probs.numel() and tuple(probs.shape[-2:]) != tuple(orig_hw):
        probs = F.interpolate(
            probs, size=tuple(int(v) for v in orig_hw), mode="bilinear", align_corners=False
        )
    out["masks"] = (
        probs[:, 0] > MASK_THRESHOLD if probs.numel() else probs.reshape(0, *orig_hw).bool()
    )
    return out


def detection_dicts(
    out: dict[str, torch.Tensor],
    threshold: float,
    class_names: list[str],
    category_ids: list[int],
) -> list[dict]:
    """One image's detections above ``threshold``: ``box`` (XYXY), ``label``, ``category_id``,
    ``score``, and ``segmentation`` (compressed RLE) when ``out`` carries binary ``masks``."""
    keep = (out["scores"] >= threshold).cpu()
    dets = [
        {
            "box": [round(v, 2) for v in box],
            "label": class_names[label - 1],
            "category_id": category_ids[label - 1],
            "score": round(score, 5),
        }
        for box, label, score in zip(
            out["boxes"].cpu()[keep].tolist(),
            out["labels"].cpu()[keep].tolist(),
            out["scores"].cpu()[keep].tolist(),
            strict=True,
        )
    ]
    if "masks" in out:
        for d, mask in zip(dets, out["masks"].cpu().numpy()[keep.numpy()], strict=True):
            d["segmentation"] = mask_to_rle(mask)
    return dets


def image_record(path, image_id: int, size: tuple[int, int], detections: list[dict]) -> dict:
    """The prediction of one image: ``path``, ``file_name``, ``image_id``, ``width``, ``height``
    (``size`` is PIL's width, height) and its ``detections``."""
    return {
        "path": str(path),
        "file_name": path.name,
        "image_id": image_id,
        "width": size[0],
        "height": size[1],
        "detections": detections,
    }

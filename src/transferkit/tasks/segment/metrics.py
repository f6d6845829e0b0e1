"""Semantic segmentation metrics: mIoU, pixel accuracy and Dice from per-pixel confusion counts.

torchmetrics does the counting with ``ignore_index`` honoured. ``miou`` is the mean over the classes
present in the ground truth or the prediction (the VOC / mmseg convention), ``dice`` the mean
per-class F1 over the same classes; ``per_class_iou`` / ``per_class_dice`` give ``None`` for a
class never seen.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassJaccardIndex,
)


class SemanticMetrics:
    """Per-pixel confusion statistics via torchmetrics; ``compute`` gives flat snake_case keys."""

    def __init__(self, class_names: list[str], ignore_index: int = 255):
        self.class_names = list(class_names)
        self.ignore_index = ignore_index
        c = len(self.class_names)
        kw = {"num_classes": c, "ignore_index": ignore_index, "validate_args": False}
        self._iou = MulticlassJaccardIndex(average="none", zero_division=math.nan, **kw)
        self._f1 = MulticlassF1Score(average="none", zero_division=math.nan, **kw)
        self._acc = MulticlassAccuracy(average="micro", **kw)

    def reset(self) -> None:
        for m in (self._iou, self._f1, self._acc):
            m.reset()

    def update(self, outputs: torch.Tensor, batch: Any) -> None:
        """Add a batch of logits ``(N, C, H, W)`` against the batch's masks."""
        self.update_indices(outputs.argmax(dim=1), batch[1])

    def update_indices(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add predicted class indices against target masks (same shape)."""
        preds, target = preds.detach().cpu().long(), target.detach().cpu().long()
        for m in (self._iou, self._f1, self._acc):
            m.update(preds, target)

    def compute(self) -> dict[str, Any]:
        """miou, pixel_accuracy, dice, per_class_iou, per_class_dice (None: class never seen)."""
        iou, dice = self._iou.compute(), self._f1.compute()
        present = ~torch.isnan(iou)
        if not present.any():
            return {}
        return {
            "miou": float(iou[present].mean()),
            "pixel_accuracy": float(self._acc.compute()),
            "dice": float(dice[present].mean()),
            "per_class_iou": _per_class(iou, self.class_names),
            "per_class_dice": _per_class(dice, self.class_names),
        }


def _per_class(values: torch.Tensor, names: list[str]) -> dict[str, float | None]:
    return {
        n: (None if math.isnan(v) else float(v))
        for n, v in zip(names, values.tolist(), strict=True)
    }

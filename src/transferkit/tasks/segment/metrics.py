"""Semantic segmentation metrics: mIoU, pixel accuracy and Dice from per-pixel confusion counts.

torchmetrics does the counting with ``ignore_index`` honoured. ``miou`` is the mean over the classes
present in the ground truth or the prediction (the VOC / mmseg convention), ``dice`` the mean
per-class F1 over the same classes; ``per_class_iou`` / ``per_class_dice`` give ``None`` for a
class never seen.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
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
        self._counts: list[np.ndarray] = []

    def reset(self) -> None:
        for m in (self._iou, self._f1, self._acc):
            m.reset()
        # Per image: pixels right, in the ground truth and predicted, per class (3 x C). Every
        # metric here is a function of these additive counts, so C^2 per image is not needed.
        self._counts: list[np.ndarray] = []

    def update(self, outputs: torch.Tensor, batch: Any) -> None:
        """Add a batch of logits ``(N, C, H, W)`` against the batch's masks."""
        self.update_indices(outputs.argmax(dim=1), batch[1])

    def update_indices(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """Add predicted class indices against target masks (same shape)."""
        preds, target = preds.detach().cpu().long(), target.detach().cpu().long()
        for m in (self._iou, self._f1, self._acc):
            m.update(preds, target)
        c = len(self.class_names)
        for p, t in zip(
            preds.reshape(len(preds), -1), target.reshape(len(target), -1), strict=True
        ):
            valid = t != self.ignore_index
            p, t = p[valid], t[valid]
            counts = [torch.bincount(x, minlength=c)[:c] for x in (t[p == t], t, p)]
            self._counts.append(torch.stack(counts).numpy())

    @property
    def num_images(self) -> int:
        """Images seen so far (the bootstrap's ``N``)."""
        return len(self._counts)

    def resample(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """miou, pixel_accuracy and dice under bootstrap ``weights`` (``core.stats``): each
        resample's counts are the weighted sums of the images' own."""
        c = len(self.class_names)
        counts = weights @ np.stack(self._counts).reshape(len(self._counts), -1).astype(float)
        tp, gt, pred = counts[:, :c], counts[:, c : 2 * c], counts[:, 2 * c :]
        union = gt + pred - tp
        present = union > 0  # in the ground truth or the prediction: the classes averaged
        seen = present.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample without pixels: NaN
            iou = np.where(present, tp / union, 0.0).sum(axis=1) / seen
            dice = np.where(present, 2 * tp / (gt + pred), 0.0).sum(axis=1) / seen
            return {"miou": iou, "pixel_accuracy": tp.sum(axis=1) / gt.sum(axis=1), "dice": dice}

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

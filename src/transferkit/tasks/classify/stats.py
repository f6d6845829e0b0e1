"""Classification's per-image statistic for the bootstrap (``core.stats``): each test image is one
(target, prediction) pair, so a resample's confusion counts are the bootstrap weights times the
images' one-hot pairs, and accuracy, macro F1 and top-5 accuracy follow from those counts.
"""

from __future__ import annotations

import numpy as np

from transferkit.core.stats import Resample


def classification_resample(target, pred, num_classes: int, top5_hit=None) -> Resample:
    """The resample function of ``accuracy``, ``macro_f1`` (and ``top5_accuracy`` when
    ``top5_hit`` is given) for integer ``target`` and ``pred`` per image.

    Macro F1 averages over the classes with any true positive, false positive or false negative
    in the resample, as torchmetrics does over the whole split.
    """
    target, pred = np.asarray(target, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    eye = np.eye(num_classes)
    correct = (target == pred).astype(np.float64)
    true_onehot, pred_onehot = eye[target], eye[pred]
    hit_onehot = true_onehot * correct[:, None]
    top5 = None if top5_hit is None else np.asarray(top5_hit, dtype=np.float64)

    def resample(weights: np.ndarray) -> dict[str, np.ndarray]:
        total = weights.sum(axis=1)
        tp = weights @ hit_onehot
        support, predicted = weights @ true_onehot, weights @ pred_onehot
        denom = support + predicted  # 2 tp + fp + fn
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        seen = (denom > 0).sum(axis=1)
        out = {
            "accuracy": (weights @ correct) / total,
            "macro_f1": np.where(seen > 0, f1.sum(axis=1) / np.maximum(seen, 1), np.nan),
        }
        if top5 is not None:
            out["top5_accuracy"] = (weights @ top5) / total
        return out

    return resample

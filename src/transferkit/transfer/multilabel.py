"""Multi-label numbers the probe, the tasks and the ranking share: average precision per label
and its means, and the ``pos_weight`` of ``--class-weights auto``.

Average precision is torchmetrics' (the area under the step precision-recall curve, as
scikit-learn's ``average_precision_score``). A label without a positive image has no AP (it is
``None`` per label and left out of the macro mean, as a class absent from a split would be).
"""

from __future__ import annotations

import torch
import torchmetrics.functional as MF

from transferkit.core.errors import DatasetError


def average_precisions(
    scores: torch.Tensor, target: torch.Tensor
) -> tuple[list[float | None], float, float]:
    """Per-label AP, macro mAP (labels with positives) and micro mAP of ``scores`` (N, K).

    ``scores`` are probabilities or logits (AP depends on the order only); ``target`` is 0/1.
    """
    scores, target = scores.detach().float().cpu(), target.detach().cpu().long()
    k = target.shape[1]
    per_label: list[float | None] = []
    for j in range(k):
        if int(target[:, j].sum()) == 0:
            per_label.append(None)
            continue
        ap = MF.average_precision(scores[:, j], target[:, j], task="binary")
        per_label.append(float(ap))
    present = [ap for ap in per_label if ap is not None]
    macro = sum(present) / len(present) if present else float("nan")
    micro = (
        float(MF.average_precision(scores.flatten(), target.flatten(), task="binary"))
        if int(target.sum())
        else float("nan")
    )
    return per_label, macro, micro


def named_pos_weights(target: torch.Tensor, names: list[str]) -> dict[str, float]:
    """Label name -> ``pos_weight`` (negatives / positives in the training ``target``).

    BCE-with-logits multiplies each label's positive term by it, so a rare label counts as much as
    its negatives: the multi-label counterpart of inverse class frequency.
    """
    positives = target.float().sum(0)
    empty = [n for n, p in zip(names, positives.tolist(), strict=True) if p == 0]
    if empty:
        raise DatasetError(
            f"class weights need at least one training image of each label; none for "
            f"{', '.join(map(repr, empty))}",
            hint="add training images with those labels, or pass --class-weights none",
        )
    negatives = target.shape[0] - positives
    return dict(zip(names, (negatives / positives).tolist(), strict=True))

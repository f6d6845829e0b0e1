"""Multi-label metrics (torchmetrics) and the per-label thresholds chosen on validation.

Scores become labels through one threshold per label. The thresholds are chosen on the
validation split, each to maximise that label's F1 (:func:`best_f1_thresholds`), and stored in
the model (``MultiLabelNet.thresholds``, so in every checkpoint); the test split, ``evaluate``,
``predict``, the report and the ONNX sidecar use them as stored and never choose again.

:class:`MultiLabelMetrics` reports, for the thresholds in force (the model's), macro and micro
F1, precision and recall, the exact-match ratio and the Hamming loss, with per-label AP,
precision, recall, F1 and support; mAP (macro and micro) needs no threshold. It also reports,
under ``decision_fit``, the thresholds that maximise F1 on the data it saw and the metrics at
them: the engine keeps that only for a validation pass (``settle_decision``).
"""

from __future__ import annotations

from typing import Any

import torch
import torchmetrics.functional as MF

from transferkit.transfer.multilabel import average_precisions

DEFAULT_THRESHOLD = 0.5  # a label without a positive on val keeps it


def best_f1_thresholds(probs: torch.Tensor, target: torch.Tensor) -> list[float]:
    """Per label, the probability threshold (predict the label when ``prob >= t``) with the best
    F1 on ``probs`` (N, K) against 0/1 ``target``.

    Each cut lies halfway between the lowest score kept and the next lower one, so that a score
    just under the last positive kept still counts on new images. Ties in F1 keep the higher cut
    (fewer positive predictions).
    """
    out = []
    for j in range(probs.shape[1]):
        p, y = probs[:, j].double(), target[:, j].double()
        positives = float(y.sum())
        if positives == 0:
            out.append(DEFAULT_THRESHOLD)
            continue
        order = torch.argsort(p, descending=True)
        s, tp = p[order], torch.cumsum(y[order], 0)
        k = torch.arange(1, len(s) + 1, dtype=torch.float64)
        f1 = 2 * tp / (k + positives)
        distinct = torch.ones_like(s, dtype=torch.bool)
        distinct[:-1] = s[:-1] > s[1:]  # a cut can only fall between two different scores
        f1[~distinct] = -1.0
        i = int(torch.argmax(f1))  # first maximum: the highest cut
        below = float(s[i + 1]) if i + 1 < len(s) else 0.0
        out.append((float(s[i]) + below) / 2)
    return out


def at_thresholds(
    probs: torch.Tensor, target: torch.Tensor, thresholds: torch.Tensor, names: list[str]
) -> dict[str, Any]:
    """Threshold-dependent metrics of ``probs`` at per-label ``thresholds``."""
    k = len(names)
    preds = (probs >= thresholds.to(probs).reshape(1, -1)).long()
    target = target.long()
    kw = {"task": "multilabel", "num_labels": k}
    precision = MF.precision(preds, target, average="none", **kw)
    recall = MF.recall(preds, target, average="none", **kw)
    f1 = MF.f1_score(preds, target, average="none", **kw)
    return {
        "f1_macro": float(MF.f1_score(preds, target, average="macro", **kw)),
        "f1_micro": float(MF.f1_score(preds, target, average="micro", **kw)),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "exact_match": float(MF.exact_match(preds, target, **kw)),
        "hamming_loss": float(MF.hamming_distance(preds, target, average="micro", **kw)),
        "per_label": {
            name: {
                "threshold": float(thresholds[i]),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
            }
            for i, name in enumerate(names)
        },
    }


def multilabel_metrics(
    probs: torch.Tensor, target: torch.Tensor, names: list[str], thresholds: torch.Tensor
) -> dict[str, Any]:
    """Every metric of ``probs`` (N, K) against 0/1 ``target`` at ``thresholds`` (see module)."""
    per_ap, macro, micro = average_precisions(probs, target)
    support = target.long().sum(0).tolist()
    out: dict[str, Any] = {"map_macro": macro, "map_micro": micro, "num_samples": len(target)}
    out.update(at_thresholds(probs, target, thresholds, names))
    for i, name in enumerate(names):
        out["per_label"][name].update(ap=per_ap[i], support=int(support[i]))
    return out


class MultiLabelMetrics:
    """Accumulates sigmoid scores and targets; ``compute`` returns :func:`multilabel_metrics` at
    ``thresholds`` (default 0.5 each) plus the ``decision_fit`` on the data seen."""

    def __init__(self, class_names: list[str], thresholds: torch.Tensor | None = None):
        self.class_names = list(class_names)
        k = len(self.class_names)
        given = thresholds is not None
        self.thresholds = (
            thresholds.detach().float().cpu() if given else torch.full((k,), DEFAULT_THRESHOLD)
        )
        self.reset()

    def reset(self) -> None:
        self._probs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def update(self, outputs: torch.Tensor, batch: Any) -> None:
        self._probs.append(outputs.detach().float().sigmoid().cpu())
        self._targets.append(batch[1].detach().float().cpu())

    def compute(self) -> dict[str, Any]:
        if not self._probs:
            return {}
        probs, target = torch.cat(self._probs), torch.cat(self._targets)
        out = multilabel_metrics(probs, target, self.class_names, self.thresholds)
        chosen = torch.tensor(best_f1_thresholds(probs, target))
        out["decision_fit"] = {
            "thresholds": chosen.tolist(),
            "metrics": at_thresholds(probs, target, chosen, self.class_names),
        }
        return out

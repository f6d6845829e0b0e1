"""Self-training on cached features: the decisions, on tensors only (no files, no engine).

The probe fitted on labelled train labels the unlabelled images; each round it keeps, per class,
the most confident predictions above a threshold chosen on labelled val (the lowest confidence at
which the probe's val predictions are right at least ``target_precision`` of the time), refits on
labelled + pseudo-labelled features (L2 chosen on val) and labels again. The quota per class grows
with the rounds, so the classes stay balanced and the easy images come first. Only the images
passed as unlabelled are ever pseudo-labelled; val supplies the threshold and the score, test
takes no part at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from transferkit.transfer.linear import LinearFit
from transferkit.transfer.probe import feature_scale, fit_standardised

ROUNDS = 3


def target_precision(val_accuracy: float) -> float:
    """Halfway from the probe's val accuracy to 1, capped at 0.98: stricter than the probe."""
    return min(0.98, val_accuracy + (1.0 - val_accuracy) / 2)


def choose_threshold(confidence: torch.Tensor, correct: torch.Tensor, target: float) -> float:
    """The lowest confidence at which the predictions at or above it are right >= ``target``
    of the time (``inf`` when no such confidence exists: nothing is accepted)."""
    if confidence.numel() == 0:
        return math.inf
    order = confidence.argsort(descending=True)
    hits = correct[order].float().cumsum(0)
    precision = hits / torch.arange(1, len(order) + 1, device=hits.device)
    ok = (precision >= target).nonzero().flatten()
    return math.inf if ok.numel() == 0 else float(confidence[order[int(ok[-1])]])


def typical(
    train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, unlabelled: torch.Tensor
) -> torch.Tensor:
    """Which unlabelled rows look like labelled images: their standardised distance to the
    nearest class centroid of train is within the largest such distance of a val image.

    A classifier is most confident far from its boundaries, so images of no class at all (noise,
    another subject) can clear any confidence threshold; this leaves them unlabelled instead.
    """
    mean, scale = train_x.mean(0), feature_scale(train_x)
    centroids = torch.stack([train_x[train_y == c].mean(0) for c in train_y.unique(sorted=True)])
    z = (centroids - mean) / scale

    def nearest(x: torch.Tensor) -> torch.Tensor:
        return torch.cdist((x - mean) / scale, z).min(1).values

    return nearest(unlabelled) <= nearest(val_x).max()


def select(probs: torch.Tensor, threshold: float, quota: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and labels of the accepted rows: per predicted class, the ``quota`` most
    confident predictions at or above ``threshold``."""
    confidence, predicted = probs.max(1)
    keep = []
    for c in range(probs.shape[1]):
        rows = ((predicted == c) & (confidence >= threshold)).nonzero().flatten()
        keep.append(rows[confidence[rows].argsort(descending=True)[:quota]])
    index = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.long)
    return index, predicted[index]


def holdout_check(probs: torch.Tensor, labels: torch.Tensor, target: float) -> dict[str, Any]:
    """Pseudo-label accuracy on labelled val images treated as unlabelled, cross-fitted: the
    threshold chosen on one half of val accepts predictions on the other half, and back."""
    confidence, predicted = probs.max(1)
    correct = predicted == labels
    halves = torch.arange(len(labels), device=labels.device) % 2 == 0
    accepted = right = 0
    for pick, score in ((halves, ~halves), (~halves, halves)):
        threshold = choose_threshold(confidence[pick], correct[pick], target)
        taken = score & (confidence >= threshold)
        accepted += int(taken.sum())
        right += int((taken & correct).sum())
    return {
        "val_images": len(labels),
        "accepted": accepted,
        "correct": right,
        "accuracy": right / accepted if accepted else None,
    }


@dataclass
class SelfTraining:
    """The final fit on labelled + pseudo-labelled features and the record of every round."""

    fit: LinearFit
    index: torch.Tensor  # rows of the unlabelled features pseudo-labelled in the last round
    labels: torch.Tensor  # their pseudo-labels
    rounds: list[dict[str, Any]] = field(default_factory=list)


def self_train(
    fit: LinearFit,
    feats: dict[str, torch.Tensor],
    labels: dict[str, torch.Tensor],
    unlabelled: torch.Tensor,
    num_classes: int,
    rounds: int = ROUNDS,
) -> SelfTraining:
    """``rounds`` of pseudo-labelling ``unlabelled`` features and refitting, from ``fit`` (the
    probe on labelled train). ``feats``/``labels`` hold "train" and "val"; "test" is never read."""
    train_x, train_y, val_x, val_y = feats["train"], labels["train"], feats["val"], labels["val"]
    index = torch.zeros(0, dtype=torch.long, device=unlabelled.device)
    pseudo = index
    history = []
    usable = typical(train_x, train_y, val_x, unlabelled)
    for r in range(1, rounds + 1):
        val_probs = fit.logits(val_x).softmax(1)
        confidence, predicted = val_probs.max(1)
        accuracy = float((predicted == val_y).float().mean())
        target = target_precision(accuracy)
        threshold = choose_threshold(confidence, predicted == val_y, target)
        quota = math.ceil(r / rounds * len(unlabelled) / num_classes)
        probs = fit.logits(unlabelled).softmax(1) * usable[:, None]  # atypical: never accepted
        chosen, chosen_labels = select(probs, threshold, quota)
        history.append(
            {
                "round": r,
                "val_accuracy_before": accuracy,
                "target_precision": round(target, 4),
                "threshold": None if math.isinf(threshold) else round(threshold, 4),
                "quota_per_class": quota,
                "atypical_left_out": int((~usable).sum()),
                "pseudo_labels": len(chosen),
                "per_class": torch.bincount(chosen_labels, minlength=num_classes).tolist(),
                "holdout": holdout_check(val_probs, val_y, target),
            }
        )
        if len(chosen) == 0:  # nothing clears the threshold: further rounds would change nothing
            break
        index, pseudo = chosen, chosen_labels  # the last selection the fit was refitted on
        x = torch.cat([train_x, unlabelled[index]])
        y = torch.cat([train_y, pseudo])
        fit, _ = fit_standardised({"train": x, "val": val_x}, {"train": y, "val": val_y},
                                  num_classes, x.device)  # fmt: skip
        history[-1]["val_accuracy_after"] = float(
            (fit.logits(val_x).argmax(1) == val_y).float().mean()
        )
    return SelfTraining(fit, index, pseudo, history)


def guard(labelled: float, semi: float, n_val: int) -> tuple[bool, str]:
    """Keep the model trained with unlabelled data unless its val accuracy falls below the
    labelled-only one by more than one binomial standard error of that accuracy on ``n_val``
    images. Returns (keep the semi-supervised model, why)."""
    se = math.sqrt(max(labelled * (1 - labelled), 0.0) / max(n_val, 1))
    said = (
        f"val accuracy {semi:.4f} with unlabelled data, {labelled:.4f} without "
        f"(noise: one standard error {se:.4f} on {n_val} val images)"
    )
    if semi >= labelled - se:
        return True, f"kept the model trained with unlabelled data: {said}"
    return False, f"kept the labelled-only model: unlabelled data lowered {said}"

"""Settings every task checks the same way: the ``--head`` it was given and ``--weights coco``."""

from __future__ import annotations

from transferkit.core.config import ModelSettings
from transferkit.core.errors import ConfigError, did_you_mean


def choose_head(kind: str, heads: tuple[str, ...], default: str, head: str | None) -> str:
    """``head``, or ``default`` when it is None; a head not among ``heads`` is refused.

    ``kind`` names the task in the message ("classification", "segmentation"); a task whose
    ``heads`` is empty takes no ``--head`` at all.
    """
    if head is None:
        return default
    if head not in heads:
        hint = (
            f"valid heads: {', '.join(heads)} (--head; default {default})"
            if heads
            else f"{kind} takes no --head; leave it out"
        )
        raise ConfigError(f"unknown {kind} head {head!r}.{did_you_mean(head, heads)}", hint=hint)
    return head


def check_weights(task: str, coco_weights: bool, model: ModelSettings) -> None:
    """Refuse ``--weights coco`` for a task without COCO-trained models (no silent random init)."""
    if model.weights == "coco" and not coco_weights:
        raise ConfigError(
            f"--weights coco: there are no COCO-trained weights for task {task!r}",
            hint="use --weights auto (the backbone's pretrained weights), none (random init) "
            "or a weights file; --weights coco exists for --task detect",
        )

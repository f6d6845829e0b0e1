"""Settings every task checks the same way: ``--weights coco``."""

from __future__ import annotations

from transferkit.core.config import ModelSettings
from transferkit.core.errors import ConfigError


def check_weights(task: str, coco_weights: bool, model: ModelSettings) -> None:
    """Refuse ``--weights coco`` for a task without COCO-trained models (no silent random init)."""
    if model.weights == "coco" and not coco_weights:
        raise ConfigError(
            f"--weights coco: there are no COCO-trained weights for task {task!r}",
            hint="use --weights auto (the backbone's pretrained weights), none (random init) "
            "or a weights file; --weights coco exists for --task detect",
        )

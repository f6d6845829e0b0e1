"""Semantic segmentation by transfer: a decoder on the backbone's features, one class per pixel.

The model is ``SegmentationNet`` (:mod:`transferkit.tasks.segment.decoders`): backbone -> FPN / U-Net /
DeepLabV3 decoder -> 1x1 classifier, wrapped in a :class:`TransferModel` whose new parts are the
decoder and the classifier, so strategies act on the backbone stages exactly as for
classification. The loss is cross-entropy that skips ``ignore_index`` pixels, plus
``dice_weight`` times a soft Dice loss when asked.

Metrics (torchmetrics, ``ignore_index`` honoured): ``miou`` (mean over classes present in the
ground truth or the prediction, the VOC / mmseg convention), ``pixel_accuracy``, ``dice`` (mean
per-class F1 over the same classes), and ``per_class_iou`` / ``per_class_dice``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.augment import dense_augment
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.segmentation import collate_segmentation, load_semantic_data
from transferkit.data.transforms.segment import (
    SCALE_JITTER,
    segmentation_eval_transform,
    segmentation_train_transform,
)
from transferkit.tasks.common.heads import check_weights, choose_head
from transferkit.tasks.segment.decoders import HEADS, SegmentationNet, build_decoder
from transferkit.tasks.segment.metrics import SemanticMetrics
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone, DataConfig

DEFAULT_HEAD = "fpn"


def resolve_head(model: ModelSettings) -> str:
    """The decoder name for ``model.head`` (``fpn`` when the config leaves it unset)."""
    return choose_head("segmentation", HEADS, DEFAULT_HEAD, model.head)


def build_segmenter(
    backbone: Backbone, num_classes: int, head: str = DEFAULT_HEAD
) -> TransferModel:
    """``backbone`` + decoder ``head`` (fpn | unet | deeplabv3) + 1x1 classifier."""
    net = SegmentationNet(backbone, build_decoder(head, backbone.feature_info), num_classes)
    return TransferModel(net, "backbone", {"decoder": "decoder", "head": "head"}, task="segment")


def dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Soft Dice loss, averaged over classes, on the pixels that are not ``ignore_index``."""
    valid = (target != ignore_index).unsqueeze(1)
    probs = logits.float().softmax(dim=1) * valid
    onehot = F.one_hot(target.clamp(0, logits.shape[1] - 1), logits.shape[1]).permute(0, 3, 1, 2)
    onehot = onehot * valid
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    total = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1.0 - ((2 * inter + 1.0) / (total + 1.0)).mean()


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255, dice_weight: float = 0.0
) -> torch.Tensor:
    """Cross-entropy over non-ignored pixels (+ ``dice_weight`` x Dice); 0 when all are ignored."""
    if not (target != ignore_index).any():  # cross-entropy of zero pixels would be NaN
        return logits.sum() * 0.0
    loss = F.cross_entropy(logits.float(), target, ignore_index=ignore_index)
    if dice_weight:
        loss = loss + dice_weight * dice_loss(logits, target, ignore_index)
    return loss


@dataclass(frozen=True)
class SegmentTask:
    """The semantic segmentation task object (see ``tasks.base.Task``).

    ``ignore_index`` and ``dice_weight`` are a run's values: :meth:`for_run` gives the task object
    of a run configuration, and the registered one (defaults) is never changed.
    """

    ignore_index: int = 255
    dice_weight: float = 0.0
    name: ClassVar[str] = "segment"
    monitor: ClassVar[str] = "miou"
    heads: ClassVar[tuple[str, ...]] = HEADS
    default_head: ClassVar[str] = DEFAULT_HEAD
    coco_weights: ClassVar[bool] = False

    def for_run(self, cfg: RunConfig) -> SegmentTask:
        """This task with ``cfg``'s ignore index and Dice weight."""
        _check_dice_weight(cfg.model)
        return replace(self, ignore_index=cfg.data.ignore_index, dice_weight=cfg.model.dice_weight)

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        check_weights(self.name, self.coco_weights, model)
        _check_dice_weight(model)
        return build_segmenter(backbone, num_classes, resolve_head(model))

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        d = cfg.data
        augment, preset = dense_augment(d, ("crop_scale",), "semantic segmentation")
        train_transform = segmentation_train_transform(
            data_config, d.img_size, d.ignore_index, SCALE_JITTER[preset], augment
        )
        return load_semantic_data(
            d.path,
            format=d.format,
            val_fraction=d.val_fraction,
            test_fraction=d.test_fraction,
            seed=d.split_seed,
            on_bad_image=d.on_bad_image,
            ignore_index=d.ignore_index,
            train_transform=train_transform,
            eval_transform=segmentation_eval_transform(data_config),
        )

    def collate(self, samples: list[Any]) -> Any:
        return collate_segmentation(samples, self.ignore_index)

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        images, masks = batch
        return segmentation_loss(model(images), masks, self.ignore_index, self.dice_weight)

    def evaluation_step(
        self, model: TransferModel, batch: Any, metrics: SemanticMetrics
    ) -> torch.Tensor:
        images, masks = batch
        logits = model(images)
        metrics.update(logits, batch)
        return segmentation_loss(logits, masks, self.ignore_index, self.dice_weight)

    def make_metrics(self, class_names: list[str]) -> SemanticMetrics:
        return SemanticMetrics(class_names, self.ignore_index)


def _check_dice_weight(model: ModelSettings) -> None:
    if not model.dice_weight >= 0:
        raise ConfigError(
            f"invalid dice_weight {model.dice_weight!r}: expected a number >= 0",
            hint="--dice-weight 0 trains with cross-entropy only; 0.5 to 1 adds Dice",
        )


__all__ = [
    "HEADS",
    "SegmentTask",
    "SemanticMetrics",
    "build_segmenter",
    "segmentation_loss",
]

"""Multi-label classification: a pooled backbone embedding into one sigmoid output per label.

A task of its own rather than a flag on ``classify``: every hook differs (multi-hot targets and
their readers, binary cross-entropy, per-label thresholds fitted on val, mAP as the monitored
metric, label sets in predictions and in the export), so a flag would branch each of them. The
model is the one ``classify`` uses (``tasks.common.pooled``), plus the thresholds as a buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.augment import augment_from_config, classification_train_transform
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.multilabel import load_multilabel_data
from transferkit.data.transforms.classify import eval_transform
from transferkit.tasks.common.heads import check_weights
from transferkit.tasks.common.pooled import DEFAULT_HEAD, HEADS, ClassifierNet, make_head
from transferkit.tasks.multilabel.metrics import DEFAULT_THRESHOLD, MultiLabelMetrics
from transferkit.transfer.model import TransferModel
from transferkit.transfer.multilabel import named_pos_weights
from transferkit.zoo.backbone import Backbone, DataConfig


class MultiLabelNet(ClassifierNet):
    """:class:`ClassifierNet` (logits, one per label) with the per-label decision thresholds on
    sigmoid scores as a buffer: they are saved and loaded with the weights."""

    def __init__(self, backbone: Backbone, head, num_labels: int):
        super().__init__(backbone, head)
        self.register_buffer("thresholds", torch.full((num_labels,), DEFAULT_THRESHOLD))


def thresholds_of(model) -> torch.Tensor:
    """The decision thresholds stored in a multi-label ``model`` (a TransferModel)."""
    return model.net.thresholds


@dataclass(frozen=True)
class MultiLabelTask:
    """The multi-label task object (see ``tasks.base.Task``).

    ``pos_weight`` (one per label, in class order) is a run's value: ``--class-weights auto``
    has ``engine.prepare`` compute negatives / positives of the train split.
    """

    pos_weight: tuple[float, ...] | None = None
    name: ClassVar[str] = "multilabel"
    monitor: ClassVar[str] = "map_macro"
    heads: ClassVar[tuple[str, ...]] = HEADS
    default_head: ClassVar[str] = DEFAULT_HEAD
    coco_weights: ClassVar[bool] = False

    def for_run(self, cfg: RunConfig) -> MultiLabelTask:
        return self

    def with_class_weights(self, weights) -> MultiLabelTask:
        """This task with BCE's ``pos_weight`` set to ``weights`` (label order)."""
        return replace(self, pos_weight=tuple(float(w) for w in weights))

    def class_weights_of(self, splits, names: list[str]) -> dict[str, float]:
        """``--class-weights auto`` for multi-label data: negatives / positives per label."""
        return named_pos_weights(splits.train.targets, names)

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        check_weights(self.name, self.coco_weights, model)
        head = make_head(backbone.num_features, num_classes, model, "multi-label")
        net = MultiLabelNet(backbone, head, num_classes)
        return TransferModel(net, "backbone", {"head": "head"}, task=self.name)

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        d = cfg.data
        return load_multilabel_data(
            d.path,
            format=d.format,
            classes=d.classes,
            val_fraction=d.val_fraction,
            test_fraction=d.test_fraction,
            seed=d.split_seed,
            on_bad_image=d.on_bad_image,
            train_transform=classification_train_transform(
                augment_from_config(d), data_config, d.img_size
            ),
            eval_transform=eval_transform(data_config, d.img_size),
        )

    def collate(self, samples: list[Any]) -> Any:
        return torch.utils.data.default_collate(samples)

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Binary cross-entropy with logits, mean over images and labels (``pos_weight`` when
        the run has class weights)."""
        images, target = batch
        logits = model(images).float()
        weight = None
        if self.pos_weight is not None:
            weight = torch.tensor(self.pos_weight, dtype=torch.float32, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, target.float(), pos_weight=weight)

    def evaluation_step(self, model: TransferModel, batch: Any, metrics) -> torch.Tensor:
        """Validation loss, unweighted (the same yardstick with and without class weights)."""
        images, target = batch
        logits = model(images).float()
        metrics.update(logits, batch)
        return F.binary_cross_entropy_with_logits(logits, target.float())

    def make_metrics(self, class_names: list[str]) -> MultiLabelMetrics:
        return MultiLabelMetrics(class_names)

    def metrics_for(self, model: TransferModel, class_names: list[str]) -> MultiLabelMetrics:
        """Metrics that judge ``model``'s own decision: its stored thresholds."""
        return MultiLabelMetrics(class_names, thresholds_of(model))

    def settle_decision(self, model: TransferModel, metrics: dict, choose: bool) -> dict:
        """Keep the thresholds fitted on this pass when ``choose`` (a validation pass): store them
        in ``model`` and report the metrics at them. Otherwise (test, ``evaluate``) drop them:
        the model's stored thresholds stand, chosen on val."""
        metrics = dict(metrics)
        fit = metrics.pop("decision_fit", None)
        if not choose or fit is None:
            return metrics
        with torch.no_grad():
            buffer = thresholds_of(model)
            buffer.copy_(torch.tensor(fit["thresholds"], dtype=buffer.dtype))
        chosen = fit["metrics"]
        per_label = {n: {**metrics["per_label"][n], **v} for n, v in chosen["per_label"].items()}
        return {**metrics, **chosen, "per_label": per_label}

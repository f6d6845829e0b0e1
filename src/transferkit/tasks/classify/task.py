"""Image classification: a pooled backbone embedding into a linear or MLP head."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
import torchmetrics.functional as MF

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.augment import augment_from_config, classification_train_transform
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.transforms.classify import decode_sizes, eval_transform
from transferkit.tasks.classify.stats import classification_resample
from transferkit.tasks.common.heads import check_weights
from transferkit.tasks.common.pooled import DEFAULT_HEAD, HEADS, ClassifierNet, make_head
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone, DataConfig


class ClassificationMetrics:
    """Accumulates logits and targets; computes torchmetrics' multiclass metrics at the end."""

    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        self.reset()

    def reset(self) -> None:
        self._probs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def update(self, outputs: torch.Tensor, batch: Any) -> None:
        self._probs.append(outputs.detach().float().softmax(dim=1).cpu())
        self._targets.append(batch[1].detach().cpu())

    def compute(self) -> dict[str, Any]:
        """Flat keys: accuracy, top5_accuracy (≥ 5 classes), macro_f1, per_class, confusion."""
        if not self._probs:
            return {}
        probs, target = torch.cat(self._probs), torch.cat(self._targets)
        return classification_metrics(probs, target, self.class_names)

    @property
    def num_images(self) -> int:
        """Images seen so far (the bootstrap's ``N``)."""
        return sum(len(t) for t in self._targets)

    def per_image(self) -> dict[str, list[int]]:
        """Each image's ``target`` and predicted class ``pred``, in the order seen: what paired
        tests between runs and k-fold's out-of-fold predictions are made from."""
        probs, target = torch.cat(self._probs), torch.cat(self._targets)
        return {"target": target.tolist(), "pred": probs.argmax(dim=1).tolist()}

    def resample(self, weights):
        """Accuracy, macro F1 (and top-5 accuracy) under bootstrap ``weights`` (``core.stats``)."""
        probs, target = torch.cat(self._probs), torch.cat(self._targets)
        c = len(self.class_names)
        top5 = None
        if c >= 5:
            top5 = (probs.topk(5, dim=1).indices == target[:, None]).any(dim=1).numpy()
        return classification_resample(target.numpy(), probs.argmax(dim=1).numpy(), c, top5)(
            weights
        )


def classification_metrics(
    probs: torch.Tensor, target: torch.Tensor, class_names: list[str]
) -> dict[str, Any]:
    """Metrics of class probabilities ``probs`` (N, C) against integer ``target`` (N,)."""
    c = len(class_names)
    kw = {"task": "multiclass", "num_classes": c}
    out: dict[str, Any] = {
        "accuracy": MF.accuracy(probs, target, average="micro", **kw).item(),
        "macro_f1": MF.f1_score(probs, target, average="macro", **kw).item(),
        "num_samples": int(target.numel()),
    }
    if c >= 5:
        out["top5_accuracy"] = MF.accuracy(probs, target, top_k=5, average="micro", **kw).item()
    precision = MF.precision(probs, target, average="none", **kw)
    recall = MF.recall(probs, target, average="none", **kw)
    f1 = MF.f1_score(probs, target, average="none", **kw)
    support = torch.bincount(target, minlength=c)
    out["per_class"] = {
        name: {
            "precision": precision[i].item(),
            "recall": recall[i].item(),
            "f1": f1[i].item(),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    out["confusion_matrix"] = MF.confusion_matrix(probs, target, **kw).tolist()
    return out


@dataclass(frozen=True)
class ClassifyTask:
    """The classification task object (see ``tasks.base.Task``).

    ``class_weights`` (one per class, in class order) is a run's value: ``--class-weights auto``
    has ``engine.prepare`` compute them from the train split and take the task object of
    :meth:`with_class_weights`; the registered object (unweighted) is never changed.
    """

    class_weights: tuple[float, ...] | None = None
    name: ClassVar[str] = "classify"
    monitor: ClassVar[str] = "accuracy"
    heads: ClassVar[tuple[str, ...]] = HEADS
    default_head: ClassVar[str] = DEFAULT_HEAD
    coco_weights: ClassVar[bool] = False

    def for_run(self, cfg: RunConfig) -> ClassifyTask:
        """This task: the config alone holds no per-run value (class weights need the data)."""
        return self

    def with_class_weights(self, weights) -> ClassifyTask:
        """This task with the training loss weighted per class by ``weights`` (class order)."""
        return replace(self, class_weights=tuple(float(w) for w in weights))

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        check_weights(self.name, self.coco_weights, model)
        head = make_head(backbone.num_features, num_classes, model)
        net = ClassifierNet(backbone, head)
        return TransferModel(net, "backbone", {"head": "head"}, task=self.name)

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        d = cfg.data
        if d.classes is not None:  # not silently ignored: the folders or the CSV name the classes
            raise ConfigError(
                "--classes is read by --task multilabel; single-label classes come from the "
                "class folders or the CSV's label column",
                hint="drop --classes, or train with --task multilabel",
            )
        return load_classification_data(
            d.path,
            format=d.format,
            val_fraction=d.val_fraction,
            test_fraction=d.test_fraction,
            seed=d.split_seed,
            on_bad_image=d.on_bad_image,
            # The augmentation the settings ask for (auto: "default" until the engine's check).
            train_transform=classification_train_transform(
                augment_from_config(d), data_config, d.img_size
            ),
            eval_transform=eval_transform(data_config, d.img_size),
            decode_sizes=decode_sizes(data_config, d.img_size),
        )

    def collate(self, samples: list[Any]) -> Any:
        return torch.utils.data.default_collate(samples)

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Cross-entropy of the batch, weighted per class when the run has class weights.

        With weights it is PyTorch's weighted mean, ``sum_i w[y_i] * CE_i / sum_i w[y_i]``.
        """
        images, target = batch
        logits = model(images)
        if self.class_weights is None:
            return F.cross_entropy(logits, target)
        weight = torch.tensor(self.class_weights, dtype=torch.float32, device=logits.device)
        return F.cross_entropy(logits.float(), target, weight=weight)

    def evaluation_step(self, model: TransferModel, batch: Any, metrics) -> torch.Tensor:
        """Validation loss, always unweighted: comparable across runs with and without class
        weights and with the probe's; class weights change how the model trains, not the yardstick.
        """
        images, target = batch
        logits = model(images)
        metrics.update(logits, batch)
        return F.cross_entropy(logits.float(), target)

    def make_metrics(self, class_names: list[str]) -> ClassificationMetrics:
        return ClassificationMetrics(class_names)

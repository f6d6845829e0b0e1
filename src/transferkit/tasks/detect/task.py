"""Object detection by transfer: COCO / VOC / YOLO data, torchvision detectors, COCO mAP.

Samples come from :class:`transferkit.data.datasets.detection.DetectionDataset` with the transforms
of :mod:`transferkit.data.transforms.detection`. Predictions are mapped back to the original image
before they are scored or written.
"""

from __future__ import annotations

from typing import Any

import torch

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.detection import load_box_data
from transferkit.tasks.common.coco_bootstrap import INTERVAL as COCO_INTERVAL
from transferkit.tasks.common.coco_bootstrap import RESAMPLES as COCO_RESAMPLES
from transferkit.tasks.common.coco_bootstrap import coco_resample
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.common.detections import to_original
from transferkit.tasks.common.detectors import (
    build_detector,
    collate_detection,
    loss_mode,
)
from transferkit.tasks.common.heads import choose_head
from transferkit.tasks.detect.weights import load_coco_detector
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone, DataConfig


class DetectionMetrics:
    """Collects ground truth and detections in original image coordinates; COCO mAP at the end."""

    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        self.reset()

    def reset(self) -> None:
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.results: list[dict] = []
        self._resample = None  # built on first use: COCOeval matches the images once

    def update(self, outputs: list[dict[str, torch.Tensor]], batch: Any) -> None:
        """Add one batch: ``outputs`` are detections already mapped to the original images."""
        _, targets = batch
        for pred, t in zip(outputs, targets, strict=True):
            image_id = int(t["image_id"])
            h, w = (int(v) for v in t["orig_size"])
            self.images.append({"id": image_id, "width": w, "height": h})
            for box, label, crowd, area in zip(
                t["orig_boxes"].tolist(),
                t["labels"].tolist(),
                t["iscrowd"].tolist(),
                t["area"].tolist(),
                strict=True,
            ):
                self.annotations.append(
                    {
                        "id": len(self.annotations) + 1,
                        "image_id": image_id,
                        "category_id": int(label),
                        "bbox": xyxy_to_xywh_list(box),
                        "area": float(area),
                        "iscrowd": int(crowd),
                    }
                )
            self.results += detections_to_results(pred, image_id)
        self._resample = None

    def compute(self) -> dict[str, Any]:
        """COCO keys (``map``, ``map_50`` …, ``map_per_class``) over everything seen."""
        return evaluate_coco(self._ground_truth(), self.results, "bbox")

    resamples = COCO_RESAMPLES  # the bootstrap count intervals of this task use
    interval_method = COCO_INTERVAL  # mAP of few images runs high: the basic bootstrap

    @property
    def num_images(self) -> int:
        """Images seen so far (the bootstrap's ``N``)."""
        return len(self.images)

    def resample(self, weights):
        """``map``, ``map_50``, ``map_75`` under bootstrap ``weights`` (``core.stats``)."""
        if self._resample is None:
            self._resample = coco_resample(self._ground_truth(), self.results, "bbox")
        return self._resample(weights)

    def _ground_truth(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(self.class_names)],
        }


def detections_to_results(
    pred: dict[str, torch.Tensor], image_id: int, category_ids: list[int] | None = None
) -> list[dict]:
    """COCO results entries for one image's detections (labels mapped through ``category_ids``)."""
    out = []
    boxes = pred["boxes"].detach().float().cpu().tolist()
    for box, label, score in zip(
        boxes, pred["labels"].tolist(), pred["scores"].tolist(), strict=True
    ):
        cat = category_ids[label - 1] if category_ids else int(label)
        out.append(
            {
                "image_id": image_id,
                "category_id": cat,
                "bbox": [round(v, 3) for v in xyxy_to_xywh_list(box)],
                "score": round(float(score), 5),
            }
        )
    return out


def prediction_rows(outputs: list[dict], batch: Any, class_names: list[str]) -> list[dict]:
    """One row per evaluated image: its id and its COCO results entries (``category_id`` is the
    1-based class index), what a run keeps in ``predictions/`` (``runs.predictions``)."""
    return [
        {"image_id": int(t["image_id"]), "results": detections_to_results(p, int(t["image_id"]))}
        for p, t in zip(outputs, batch[1], strict=True)
    ]


class DetectTask:
    """The detection task object (see ``tasks.base.Task``)."""

    name = "detect"
    monitor = "map"
    heads: tuple[str, ...] = ()  # the detector (--detector) is the new head; no --head
    default_head = ""
    coco_weights = True

    def for_run(self, cfg: RunConfig) -> DetectTask:
        """This task: detection keeps no per-run values."""
        return self

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        """A torchvision detector (``model.detector``) with an FPN on ``backbone``."""
        choose_head("detection", self.heads, self.default_head, model.head)
        pretrained, coco = model.weights != "none", model.weights == "coco"
        net = build_detector(
            backbone, num_classes, model.detector, freeze_norm_stats=pretrained, coco_layout=coco
        )
        if coco:
            load_coco_detector(net, model.detector, model.backbone)
        return net

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        """Read ``cfg.data`` (COCO, VOC or YOLO), split it, and attach the transforms."""
        return load_box_data(cfg)

    def collate(self, samples: list[Any]) -> tuple[list[torch.Tensor], list[dict]]:
        return collate_detection(samples)

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Sum of the detector's losses (classification, box regression, objectness …)."""
        images, targets = batch
        losses = model(images, [_fit_target(t) for t in targets])
        return sum(losses.values())

    def evaluation_step(self, model: TransferModel, batch: Any, metrics) -> torch.Tensor:
        """Predictions (eval mode) into ``metrics``, and the validation loss (state untouched)."""
        images, targets = batch
        with torch.no_grad():
            # One image at a time: a batch pads its images to a common size, and the padding would
            # make an image's detections depend on its batch mates (and so on the batch size).
            preds = [model([img])[0] for img in images]
            preds = [
                to_original(p, img.shape[-2:], t["orig_size"].tolist())
                for p, img, t in zip(preds, images, targets, strict=True)
            ]
            metrics.update(preds, batch)
            with loss_mode(model):
                losses = model(images, [_fit_target(t) for t in targets])
        return sum(losses.values())

    def make_metrics(self, class_names: list[str]) -> DetectionMetrics:
        """A fresh COCO mAP accumulator."""
        return DetectionMetrics(class_names)


def _fit_target(t: dict) -> dict[str, torch.Tensor]:
    """What the detector trains on: boxes and labels, without crowd regions."""
    if "iscrowd" in t and t["iscrowd"].any():
        keep = ~t["iscrowd"].bool()
        return {"boxes": t["boxes"][keep], "labels": t["labels"][keep]}
    return {"boxes": t["boxes"], "labels": t["labels"]}

"""Instance segmentation by transfer: torchvision Mask R-CNN on any zoo backbone + FPN.

Data is read by the detection readers (COCO polygons and RLE, kept as given; crowd regions
respected); :mod:`transferkit.data.datasets.instance` checks every object's ``segmentation`` up
front and makes the samples: the detection sample plus ``masks``, one per object.

The model shares the detection task's pieces (:mod:`transferkit.tasks.common.detectors`): the FPN over
the backbone's features, a transform that only normalises and pads, frozen BatchNorm statistics
for pretrained backbones, and :func:`loss_mode` so validation loss and predictions are both
computed without moving any statistics. New parts: ``fpn``, ``rpn``, ``roi_heads`` (box and mask
heads), so strategies act on the backbone stages as for the other tasks.

Metrics are COCO's, by the shared :func:`evaluate_coco`: mask AP (``mask_map``, ``mask_map_50``
…, from ``segm``) and box AP (``map``, ``map_50`` …), in original image coordinates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign

from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.boxes import xyxy_to_xywh_list
from transferkit.data.datasets import DataSplits
from transferkit.data.datasets.detection import load_box_data
from transferkit.data.datasets.instance import InstanceDataset, check_records
from transferkit.data.masks import mask_to_rle
from transferkit.tasks.common.coco_bootstrap import INTERVAL as COCO_INTERVAL
from transferkit.tasks.common.coco_bootstrap import RESAMPLES as COCO_RESAMPLES
from transferkit.tasks.common.coco_bootstrap import coco_resample
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.common.detections import to_original_with_masks
from transferkit.tasks.common.detectors import (
    KeepSizeTransform,
    PyramidBackbone,
    collate_detection,
    loss_mode,
)
from transferkit.tasks.common.heads import check_weights, choose_head
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone, DataConfig

# Heads sized for small transfer sets and CPUs: torchvision's defaults (a 1024-wide box head,
# 512 sampled RoIs and four 256-channel mask convs) cost over 10x more per image and have more
# new parameters than a few hundred labelled objects can fit.
BOX_HEAD = 512
ROIS_PER_IMAGE = 64
MASK_CHANNELS = 64
PROPOSALS_TEST = 300  # proposals kept for evaluation (torchvision: 1000); still 3x max detections


def build_mask_rcnn(
    backbone: Backbone, num_classes: int, freeze_norm_stats: bool = True
) -> TransferModel:
    """Mask R-CNN on ``backbone`` (its last four levels + FPN) for ``num_classes`` classes."""
    n = len(backbone.feature_info)
    levels = list(range(max(0, n - 4), n))
    body = PyramidBackbone(backbone, levels, "pool", freeze_norm_stats)
    strides = body.strides
    # Two anchor sizes per level (4x and 8x its stride) so small objects such as cells get anchors.
    anchors = AnchorGenerator(
        tuple((4 * s, 8 * s) for s in strides), ((0.5, 1.0, 2.0),) * len(strides)
    )
    names = [str(k) for k in range(len(levels))]
    mean, std = list(backbone.data_config.mean), list(backbone.data_config.std)
    mask_predictor = MaskRCNNPredictor(MASK_CHANNELS, MASK_CHANNELS, num_classes + 1)
    # torchvision initialises the mask logits with std sqrt(2 / fan_out); with few classes that is
    # ~1 and the first mask loss is in the tens. Detectron2's std of 0.001 starts it at log(2).
    nn.init.normal_(mask_predictor.mask_fcn_logits.weight, std=0.001)
    nn.init.zeros_(mask_predictor.mask_fcn_logits.bias)
    net = MaskRCNN(
        body,
        num_classes=None,
        rpn_anchor_generator=anchors,
        rpn_post_nms_top_n_test=PROPOSALS_TEST,
        box_roi_pool=MultiScaleRoIAlign(names, output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(body.out_channels * 7 * 7, BOX_HEAD),
        box_predictor=FastRCNNPredictor(BOX_HEAD, num_classes + 1),
        box_batch_size_per_image=ROIS_PER_IMAGE,
        mask_roi_pool=MultiScaleRoIAlign(names, output_size=14, sampling_ratio=2),
        mask_head=MaskRCNNHeads(body.out_channels, (MASK_CHANNELS,) * 4, dilation=1),
        mask_predictor=mask_predictor,
        image_mean=mean,
        image_std=std,
    )
    divisor = max(32, backbone.feature_info[levels[-1]].stride)
    net.transform = KeepSizeTransform(800, 1333, mean, std, size_divisible=divisor)
    parts = {"fpn": "backbone.fpn", "rpn": "rpn", "roi_heads": "roi_heads"}
    return TransferModel(net, "backbone.body", parts, task="instance")


def instances_to_results(
    pred: dict[str, torch.Tensor], image_id: int, category_ids=None
) -> list[dict]:
    """COCO results (``bbox`` and RLE ``segmentation``) of one image's mapped prediction."""
    out = []
    masks = pred["masks"].cpu().numpy()
    boxes = pred["boxes"].detach().float().cpu().tolist()
    for k, (box, label, score) in enumerate(
        zip(boxes, pred["labels"].tolist(), pred["scores"].tolist(), strict=True)
    ):
        out.append(
            {
                "image_id": image_id,
                "category_id": category_ids[label - 1] if category_ids else int(label),
                "bbox": [round(v, 3) for v in xyxy_to_xywh_list(box)],
                "segmentation": mask_to_rle(masks[k]),
                "score": round(float(score), 5),
            }
        )
    return out


def prediction_rows(outputs: list[dict], batch: Any, class_names: list[str]) -> list[dict]:
    """One row per evaluated image: its id and its COCO results entries (``category_id`` is the
    1-based class index), what a run keeps in ``predictions/`` (``runs.predictions``)."""
    return [
        {"image_id": int(t["image_id"]), "results": instances_to_results(p, int(t["image_id"]))}
        for p, t in zip(outputs, batch[1], strict=True)
    ]


class InstanceMetrics:
    """Ground truth and predictions in original coordinates; COCO ``segm`` and ``bbox`` AP."""

    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        self.reset()

    def reset(self) -> None:
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.results: list[dict] = []
        self._resample = None  # built on first use: COCOeval matches the images once

    def update(self, outputs: list[dict[str, torch.Tensor]], batch: Any) -> None:
        """Add one batch of predictions already mapped to the original images."""
        for pred, t in zip(outputs, batch[1], strict=True):
            image_id = int(t["image_id"])
            h, w = (int(v) for v in t["orig_size"])
            self.images.append({"id": image_id, "width": w, "height": h})
            for ann in t["gt"]:
                self.annotations.append(
                    {"id": len(self.annotations) + 1, "image_id": image_id, **ann}
                )
            self.results += instances_to_results(pred, image_id)
        self._resample = None

    def compute(self) -> dict[str, Any]:
        """``mask_map``, ``mask_map_50`` … (segm) and ``map``, ``map_50`` … (bbox)."""
        gt = {
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": i + 1, "name": n} for i, n in enumerate(self.class_names)],
        }
        boxes = [{k: v for k, v in r.items() if k != "segmentation"} for r in self.results]
        return {
            **evaluate_coco(gt, self.results, "segm", prefix="mask_"),
            **evaluate_coco(gt, boxes, "bbox"),
        }

    resamples = COCO_RESAMPLES  # the bootstrap count intervals of this task use
    interval_method = COCO_INTERVAL  # mAP of few images runs high: the basic bootstrap

    @property
    def num_images(self) -> int:
        """Images seen so far (the bootstrap's ``N``)."""
        return len(self.images)

    def resample(self, weights):
        """``mask_map*`` (segm) and ``map*`` (bbox) under bootstrap ``weights`` (``core.stats``)."""
        if self._resample is None:
            gt = {
                "images": self.images,
                "annotations": self.annotations,
                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(self.class_names)],
            }
            boxes = [{k: v for k, v in r.items() if k != "segmentation"} for r in self.results]
            masks = coco_resample(gt, self.results, "segm", prefix="mask_")
            bbox = coco_resample(gt, boxes, "bbox")
            self._resample = lambda w: {**masks(w), **bbox(w)}
        return self._resample(weights)


def _fit_target(t: dict) -> dict[str, torch.Tensor]:
    """What Mask R-CNN trains on: boxes, labels and masks, without crowd regions."""
    keep = ~t["iscrowd"].bool() if "iscrowd" in t else slice(None)
    return {"boxes": t["boxes"][keep], "labels": t["labels"][keep], "masks": t["masks"][keep]}


class InstanceTask:
    """The instance segmentation task object (see ``tasks.base.Task``)."""

    name = "instance"
    monitor = "mask_map"
    heads: tuple[str, ...] = ()  # Mask R-CNN is the new head; no --head
    default_head = ""
    coco_weights = False

    def for_run(self, cfg: RunConfig) -> InstanceTask:
        """This task: instance segmentation keeps no per-run values."""
        return self

    def build_model(
        self, backbone: Backbone, num_classes: int, model: ModelSettings
    ) -> TransferModel:
        """Mask R-CNN with an FPN on ``backbone``; BatchNorm statistics fixed when pretrained."""
        choose_head("instance segmentation", self.heads, self.default_head, model.head)
        check_weights(self.name, self.coco_weights, model)
        return build_mask_rcnn(backbone, num_classes, freeze_norm_stats=model.weights != "none")

    def load_data(self, cfg: RunConfig, data_config: DataConfig) -> DataSplits:
        """Read ``cfg.data`` (COCO with polygons / RLE), check the masks, split, add transforms."""
        return load_box_data(cfg, InstanceDataset, check=check_records)

    def collate(self, samples: list[Any]) -> tuple[list[torch.Tensor], list[dict]]:
        return collate_detection(samples)

    def training_loss(self, model: TransferModel, batch: Any) -> torch.Tensor:
        """Sum of Mask R-CNN's losses (objectness, RPN boxes, classes, boxes, masks)."""
        images, targets = batch
        return sum(model(images, [_fit_target(t) for t in targets]).values())

    def evaluation_step(
        self, model: TransferModel, batch: Any, metrics: InstanceMetrics
    ) -> torch.Tensor:
        """Predictions (eval mode) into ``metrics``, and the validation loss (state untouched)."""
        images, targets = batch
        with torch.no_grad():
            preds = model(images)
            preds = [
                to_original_with_masks(p, img.shape[-2:], t["orig_size"].tolist())
                for p, img, t in zip(preds, images, targets, strict=True)
            ]
            metrics.update(preds, batch)
            with loss_mode(model):
                losses = model(images, [_fit_target(t) for t in targets])
        return sum(losses.values())

    def make_metrics(self, class_names: list[str]) -> InstanceMetrics:
        return InstanceMetrics(class_names)

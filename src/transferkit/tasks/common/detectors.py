"""torchvision detectors (Faster R-CNN, RetinaNet, FCOS) on any zoo backbone through an FPN.

The zoo backbone's multi-scale maps (``forward_features`` + ``feature_info``) feed
``torchvision.ops.FeaturePyramidNetwork``; torchvision's detection heads sit on the pyramid. The
result is a :class:`TransferModel` whose pretrained groups are the backbone's stages and whose new
parts are ``fpn`` plus ``rpn`` and ``roi_heads`` (Faster R-CNN) or ``head`` (RetinaNet, FCOS), so
the transfer strategies act on the backbone exactly as for classification.

Two choices differ from torchvision's stock builders, both on purpose:

* Resizing belongs to the data pipeline (``transforms.v2``: scale jitter in training, a fixed
  shorter side in evaluation), not to the model. The model only normalises with the backbone's
  mean and std and pads to a multiple of 32, so it works on whatever size it is given and the run
  configuration alone decides the input size.
* With pretrained weights the backbone's BatchNorm statistics stay fixed in every stage, trainable
  or not (torchvision and detectron2 use FrozenBatchNorm for the same reason): detection batches of
  2 to 8 images give statistics too noisy to replace ImageNet's. The affine parameters still train.
  From random init the statistics must be learnt, so they update in trainable stages.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.nn.modules.dropout import _DropoutNd
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.transfer.model import TransferModel
from transferkit.zoo.backbone import Backbone

DETECTORS = ("faster_rcnn", "retinanet", "fcos")
FPN_CHANNELS = 256  # torchvision's pyramid width, used for its COCO weights
# Width of the pyramid (and so of the RPN and heads on it) for detectors trained from a
# classification backbone: half of torchvision's COCO-sized 256 halves the cost of a training
# step on a CPU, and a few hundred training images do not need more.
DETECT_FPN_CHANNELS = 128
# Proposal and RoI budgets for small data sets with a handful of objects per image; torchvision's
# defaults (2000 proposals, 512 RoIs per image) are sized for COCO and make the RoI head cost more
# than the backbone on a CPU.
FASTER_RCNN_BUDGET = {
    "rpn_pre_nms_top_n_train": 600,
    "rpn_post_nms_top_n_train": 300,
    "rpn_pre_nms_top_n_test": 300,
    "rpn_post_nms_top_n_test": 150,
    "box_batch_size_per_image": 128,
}


class PyramidBackbone(nn.Module):
    """A zoo backbone (``body``) plus an FPN: the ``backbone`` a torchvision detector expects."""

    def __init__(
        self,
        body: Backbone,
        levels: list[int],
        extra: str,
        freeze_norm_stats: bool,
        channels: int = FPN_CHANNELS,
    ):
        super().__init__()
        self.body = body
        self.levels = list(levels)
        in_channels = [body.feature_info[i].channels for i in self.levels]
        # Faster R-CNN: a max-pooled P6; RetinaNet / FCOS: P6 and P7 from P5 (torchvision's v2).
        pool = extra == "pool"
        extra_blocks = LastLevelMaxPool() if pool else LastLevelP6P7(channels, channels)
        self.fpn = FeaturePyramidNetwork(in_channels, channels, extra_blocks=extra_blocks)
        self.out_channels = channels
        self.freeze_norm_stats = freeze_norm_stats

    @property
    def strides(self) -> list[int]:
        """Stride of every pyramid output, extra levels included."""
        base = [self.body.feature_info[i].stride for i in self.levels]
        n_extra = 1 if isinstance(self.fpn.extra_blocks, LastLevelMaxPool) else 2
        return base + [base[-1] * 2 ** (k + 1) for k in range(n_extra)]

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        feats = self.body.forward_features(x)
        return self.fpn(OrderedDict((str(k), feats[i]) for k, i in enumerate(self.levels)))

    def train(self, mode: bool = True) -> PyramidBackbone:
        super().train(mode)
        if self.freeze_norm_stats:
            for m in self.body.modules():
                if isinstance(m, _NormBase):
                    m.eval()
        return self


class KeepSizeTransform(GeneralizedRCNNTransform):
    """Normalise and batch only; the data pipeline has already sized the images."""

    def resize(self, image, target=None):
        return image, target


def build_detector(
    backbone: Backbone,
    num_classes: int,
    detector: str = "faster_rcnn",
    freeze_norm_stats: bool = True,
    coco_layout: bool = False,
) -> TransferModel:
    """A torchvision ``detector`` on ``backbone`` for ``num_classes`` object classes.

    Labels are 1..``num_classes`` (0 is background), for all three detectors. ``coco_layout``
    builds torchvision's own layout (a 256-channel pyramid, Faster R-CNN on four levels with
    anchors 8x the stride, RetinaNet's head without GroupNorm) so that its COCO weights load
    (``tasks.detect.weights``).
    """
    if detector not in DETECTORS:
        raise ConfigError(
            f"unknown detector {detector!r}.{did_you_mean(detector, DETECTORS)}",
            hint=f"valid detectors: {', '.join(DETECTORS)}",
        )
    # The three deepest backbone levels (strides 8-32 on most backbones) feed the pyramid: a
    # stride-4 level would cost several times the backbone itself in FPN and RPN convolutions.
    n = len(backbone.feature_info)
    depth = 4 if coco_layout and detector == "faster_rcnn" else 3
    levels = list(range(max(0, n - depth), n))
    extra = "pool" if detector == "faster_rcnn" else "p6p7"
    channels = FPN_CHANNELS if coco_layout else DETECT_FPN_CHANNELS
    body = PyramidBackbone(backbone, levels, extra, freeze_norm_stats, channels)
    mean, std = list(backbone.data_config.mean), list(backbone.data_config.std)
    common = {"min_size": 800, "max_size": 1333, "image_mean": mean, "image_std": std}
    net, parts = _HEADS[detector](body, num_classes, coco_layout, common)
    # Padding to the coarsest backbone stride keeps the pyramid levels aligned with each other.
    divisor = max(32, backbone.feature_info[levels[-1]].stride)
    net.transform = KeepSizeTransform(800, 1333, mean, std, size_divisible=divisor)
    return TransferModel(net, "backbone.body", parts, task="detect")


def _faster_rcnn(body: PyramidBackbone, num_classes: int, coco_layout: bool, common: dict):
    strides = body.strides
    anchors = AnchorGenerator(
        tuple(((8 if coco_layout else 4) * s,) for s in strides),
        ((0.5, 1.0, 2.0),) * len(strides),
    )
    names = [str(k) for k in range(len(body.levels))]
    net = FasterRCNN(
        body,
        num_classes=num_classes + 1,
        rpn_anchor_generator=anchors,
        box_roi_pool=MultiScaleRoIAlign(names, output_size=7, sampling_ratio=2),
        **FASTER_RCNN_BUDGET,
        **common,
    )
    return net, {"fpn": "backbone.fpn", "rpn": "rpn", "roi_heads": "roi_heads"}


def _retinanet(body: PyramidBackbone, num_classes: int, coco_layout: bool, common: dict):
    strides = body.strides
    scales = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
    anchors = AnchorGenerator(  # sizes rounded down as in torchvision's RetinaNet
        tuple(tuple(int(4 * s * k) for k in scales) for s in strides),
        ((0.5, 1.0, 2.0),) * len(strides),
    )
    head = RetinaNetHead(
        body.out_channels,
        anchors.num_anchors_per_location()[0],
        num_classes + 1,
        norm_layer=None if coco_layout else partial(nn.GroupNorm, 32),
    )
    net = RetinaNet(body, num_classes + 1, anchor_generator=anchors, head=head, **common)
    return net, {"fpn": "backbone.fpn", "head": "head"}


def _fcos(body: PyramidBackbone, num_classes: int, coco_layout: bool, common: dict):
    strides = body.strides
    anchors = AnchorGenerator(tuple((s,) for s in strides), ((1.0,),) * len(strides))
    head = FCOSHead(body.out_channels, 1, num_classes + 1)
    net = FCOS(
        body, num_classes + 1, anchor_generator=anchors, head=head, score_thresh=0.05, **common
    )
    return net, {"fpn": "backbone.fpn", "head": "head"}


_HEADS = {"faster_rcnn": _faster_rcnn, "retinanet": _retinanet, "fcos": _fcos}


@contextmanager
def loss_mode(model: nn.Module):
    """Let a torchvision detector return its losses without changing any state.

    torchvision detectors only compute losses in train mode, where BatchNorm would update its
    running statistics and dropout would fire. Inside this context the detector's own modules are
    in train mode but every norm, dropout and drop-path layer is in eval mode, the random number
    generators are forked with a fixed seed (proposal sampling is random; the validation loss
    becomes repeatable and the training RNG stream is untouched), and every module's mode is
    restored afterwards.
    """
    modes = [(m, m.training) for m in model.modules()]
    params = next(model.parameters(), None)
    devices = [params.device.index or 0] if params is not None and params.is_cuda else []
    try:
        for m in model.modules():
            m.training = not _stochastic(m)
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(0)
            yield model
    finally:
        for m, was in modes:
            m.training = was


def _stochastic(m: nn.Module) -> bool:
    return isinstance(m, (_NormBase, _DropoutNd)) or type(m).__name__ in ("DropPath", "DropBlock2d")


def collate_detection(samples: list) -> tuple[list[torch.Tensor], list[dict]]:
    """Batch (image, target) pairs for torchvision detectors: images of different sizes stay a
    list, and tv_tensors become plain tensors (the detectors index and concatenate them)."""
    images = [img.as_subclass(torch.Tensor) for img, _ in samples]
    targets = [
        {k: v.as_subclass(torch.Tensor) if isinstance(v, torch.Tensor) else v for k, v in t.items()}
        for _, t in samples
    ]
    return images, targets

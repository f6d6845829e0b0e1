"""Starting a detector from torchvision's COCO-trained weights (``--weights coco``).

torchvision publishes COCO-trained Faster R-CNN, RetinaNet and FCOS on a ResNet-50 FPN. With
``--weights coco --backbone resnet50`` the detector is built in torchvision's layout (FPN levels,
anchors and head as in those files) and everything but the class predictor is loaded from the
file: backbone, FPN, RPN, box head. The predictor starts fresh for the user's classes.

The files are never downloaded here. They are looked up, by their torchvision file name, in

1. ``$TRANSFERKIT_HOME/weights/detectors/`` (the weight store), then
2. torch's own cache, ``$TORCH_HOME/hub/checkpoints/`` (``~/.cache/torch/hub/checkpoints``),
   where torchvision puts them when it downloads them.

To import them on a machine without network, copy the file there from one that has it, e.g. after
``python -c "import torchvision.models.detection as d;
d.fasterrcnn_resnet50_fpn(weights='COCO_V1')"`` on a connected machine.
"""

from __future__ import annotations

from pathlib import Path

import torch

from transferkit.core import env
from transferkit.core.errors import ConfigError, WeightsMismatchError, WeightsUnavailableError
from transferkit.transfer.model import TransferModel
from transferkit.zoo import resolve_backbone_name
from transferkit.zoo.weights.spec import load_state_dict_file
from transferkit.zoo.weights.store import store_dir

# (detector, canonical backbone) -> torchvision's file name for the COCO weights.
COCO_FILES = {
    ("faster_rcnn", "tv:resnet50"): "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
    ("retinanet", "tv:resnet50"): "retinanet_resnet50_fpn_coco-eeacb38b.pth",
    ("fcos", "tv:resnet50"): "fcos_resnet50_fpn_coco-99b0c9b7.pth",
}
# Keys that hold the COCO classes and so start fresh.
_PREDICTOR_PREFIXES = ("roi_heads.box_predictor.", "head.classification_head.cls_logits.")


def coco_file_name(detector: str, backbone: str) -> str:
    """torchvision's file name for ``detector`` on ``backbone``, or a ConfigError."""
    key = (detector, resolve_backbone_name(backbone))
    if key not in COCO_FILES:
        options = ", ".join(f"--detector {d} --backbone {b.split(':')[1]}" for d, b in COCO_FILES)
        raise ConfigError(
            f"no COCO detector weights for detector {detector!r} on backbone {backbone!r}",
            hint=f"--weights coco exists for: {options}",
        )
    return COCO_FILES[key]


def find_coco_weights(file_name: str) -> Path:
    """The first existing copy of ``file_name`` in the places the module doc lists."""
    places = [store_dir() / "detectors", env.torch_home() / "hub" / "checkpoints"]
    for folder in places:
        if (folder / file_name).is_file():
            return folder / file_name
    raise WeightsUnavailableError(
        f"COCO detector weights {file_name} not found in {' or '.join(map(str, places))}",
        hint=f"copy torchvision's {file_name} into {places[0]} (see `transferkit.tasks."
        "detect.weights`), or train from ImageNet weights with --weights auto",
    )


def load_coco_detector(model: TransferModel, detector: str, backbone: str) -> dict[str, int]:
    """Load the COCO weights of ``detector`` on ``backbone`` into ``model``, but the predictor.

    Returns counts of loaded and freshly initialised tensors.
    """
    path = find_coco_weights(coco_file_name(detector, backbone))
    source = load_state_dict_file(path)
    target = model.net.state_dict()
    body = {k: v for k, v in target.items() if k.startswith("backbone.body.")}
    prefix = _body_prefix(source, body, path)
    mapped: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        if key.startswith(_PREDICTOR_PREFIXES):
            continue
        inner = key.startswith("backbone.body.")
        name = prefix + key[len("backbone.body.") :] if inner else key
        if name not in target or target[name].shape != value.shape:
            raise WeightsMismatchError(
                f"{path}: tensor {key} {tuple(value.shape)} has no place in the {detector} built "
                f"on {backbone}",
                hint="the file is not torchvision's COCO checkpoint for this detector",
            )
        mapped[name] = value
    missing = set(target) - set(mapped)
    fresh = {k for k in missing if _fresh(k)}
    if missing - fresh:
        raise WeightsMismatchError(
            f"{path} lacks {len(missing - fresh)} tensors of the {detector}, e.g. "
            f"{sorted(missing - fresh)[:3]}"
        )
    model.net.load_state_dict(mapped, strict=False)
    return {"loaded": len(mapped), "fresh": len(fresh)}


def _fresh(key: str) -> bool:
    # The new predictor, and BatchNorm step counters (torchvision's FrozenBatchNorm has none).
    return key.startswith(_PREDICTOR_PREFIXES) or key.endswith("num_batches_tracked")


def _body_prefix(source: dict, body: dict[str, torch.Tensor], path: Path) -> str:
    """Where torchvision's ResNet keys live inside our backbone (``backbone.body.<...>.``).

    The shortest of our keys ending like torchvision's first backbone key gives the prefix: a
    longer one is a deeper module with the same leaf name (``layer1.0.conv1`` vs ``conv1``).
    """
    first = next(k for k in source if k.startswith("backbone.body."))
    suffix = first[len("backbone.body.") :]
    hits = [k for k in body if k.endswith("." + suffix)]
    if not hits:
        raise WeightsMismatchError(f"{path}: backbone tensor {suffix} has no match in ours")
    return min(hits, key=len)[: -len(suffix)]

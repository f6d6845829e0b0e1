"""Short names for the classic families, resolved to a canonical ``timm:`` or ``tv:`` name.

Data only. The torchvision spelling of a name (``mobilenet_v3_large``, ``vit_b_16``) points at the
torchvision model of that name; EfficientNet-Lite exists only in timm, where the TensorFlow-ported
variants are called ``tf_efficientnet_lite*`` (these are the ones the built-in weights fit).
"""

from __future__ import annotations

ALIASES: dict[str, str] = {
    "vgg16": "tv:vgg16",
    "resnet18": "tv:resnet18",
    "resnet50": "tv:resnet50",
    "mobilenet_v2": "tv:mobilenet_v2",
    "mobilenet_v3_large": "tv:mobilenet_v3_large",
    "googlenet": "tv:googlenet",
    "inception_v3": "tv:inception_v3",
    "efficientnet_b0": "tv:efficientnet_b0",
    "efficientnet_lite0": "timm:tf_efficientnet_lite0",
    "efficientnet_lite1": "timm:tf_efficientnet_lite1",
    "efficientnet_lite2": "timm:tf_efficientnet_lite2",
    "convnext_tiny": "tv:convnext_tiny",
    "vit_b_16": "tv:vit_b_16",
}

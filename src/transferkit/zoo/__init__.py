"""The backbone zoo: timm and torchvision models behind one contract, with offline-first weights.

Public API::

    create_backbone(name, weights="auto", *, keep_source_head=False, allow_download=None)
    list_backbones(pattern=None) -> list[BackboneRow]
    resolve_backbone_name(name) -> "timm:NAME[.TAG]" | "tv:NAME"
"""

from __future__ import annotations

from transferkit.zoo.backbone import Backbone, DataConfig, FeatureInfo, Stage
from transferkit.zoo.factory import create_backbone
from transferkit.zoo.listing import BackboneRow, list_backbones
from transferkit.zoo.names import resolve_backbone_name
from transferkit.zoo.weights.spec import WeightsSpec

__all__ = [
    "Backbone",
    "BackboneRow",
    "DataConfig",
    "FeatureInfo",
    "Stage",
    "WeightsSpec",
    "create_backbone",
    "list_backbones",
    "resolve_backbone_name",
]

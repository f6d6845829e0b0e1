"""The backbone zoo: timm and torchvision models behind one contract, with offline-first weights.

Public API::

    create_backbone(name, weights="auto", *, keep_source_head=False, allow_download=None)
    list_backbones(pattern=None) -> list[BackboneRow]
    resolve_backbone_name(name) -> "timm:NAME[.TAG]" | "tv:NAME"

The names are imported on first use (``core.lazy``): listing the short names needs no torch.
"""

from __future__ import annotations

from transferkit.core.lazy import lazy_exports

_WHERE = {
    "Backbone": "transferkit.zoo.backbone",
    "DataConfig": "transferkit.zoo.backbone",
    "FeatureInfo": "transferkit.zoo.backbone",
    "Stage": "transferkit.zoo.backbone",
    "WeightsSpec": "transferkit.zoo.weights.spec",
    "create_backbone": "transferkit.zoo.factory",
    "BackboneRow": "transferkit.zoo.shortlist",
    "list_backbones": "transferkit.zoo.listing",
    "resolve_backbone_name": "transferkit.zoo.names",
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)

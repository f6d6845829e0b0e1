"""Fixtures for segmentation tests: tiny random-init backbones and tiny data sets on disk."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn

from transferkit.zoo.backbone import Backbone, DataConfig, FeatureInfo, Stage


class TimmFeatures(Backbone):
    """Minimal timm adapter honouring the backbone contract (random init, for logic tests)."""

    def __init__(self, name: str = "resnet18"):
        super().__init__()
        self.name, self.source = name, "timm"
        self.model = timm.create_model(name, features_only=True, pretrained=False)
        info = self.model.feature_info
        self.feature_info = [
            FeatureInfo(n, c, s)
            for n, c, s in zip(info.module_name(), info.channels(), info.reduction(), strict=True)
        ]
        self.num_features = self.feature_info[-1].channels
        self.data_config = DataConfig(
            mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), input_size=(3, 64, 64)
        )

    def forward_features(self, x):
        return list(self.model(x))

    def forward_pooled(self, x):
        return self.forward_features(x)[-1].mean((2, 3))

    def stages(self):
        children = list(self.model.named_children())
        return [Stage(n, [m]) for n, m in children if any(True for _ in m.parameters())]


def tiny_backbone(name: str = "resnet18") -> nn.Module:
    torch.manual_seed(0)
    return TimmFeatures(name)


@pytest.fixture
def make_backbone():
    """Factory of tiny random-init backbones: ``make_backbone("resnet18")``."""
    return tiny_backbone

"""A tiny backbone that honours the contract, for fast logic tests (no timm, no weights)."""

from __future__ import annotations

import torch
from torch import nn

from transferkit.zoo.backbone import Backbone, DataConfig, FeatureInfo, Stage


class TinyBackbone(Backbone):
    """Three conv stages with BatchNorm: strides 2, 4, 8; 8, 16, 32 channels."""

    name = "tiny"
    source = "test"

    def __init__(self):
        super().__init__()
        chans = [3, 8, 16, 32]
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1), nn.BatchNorm2d(chans[i + 1]), nn.ReLU()
            )
            for i in range(3)
        )
        self.num_features = 32
        self.feature_info = [FeatureInfo(f"stage{i}", chans[i + 1], 2 ** (i + 1)) for i in range(3)]
        self.data_config = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, input_size=(3, 32, 32))

    def forward_features(self, x):
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def forward_pooled(self, x):
        return self.forward_features(x)[-1].mean(dim=(2, 3))

    def stages(self):
        return [Stage(f"stage{i}", [b]) for i, b in enumerate(self.blocks)]


def tiny_classifier(num_classes: int = 3):
    from transferkit.core.config import ModelSettings
    from transferkit.tasks.classify import TASK

    torch.manual_seed(0)
    return TASK.build_model(TinyBackbone(), num_classes, ModelSettings(head="linear"))

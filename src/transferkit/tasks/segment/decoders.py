"""Semantic segmentation decoders over a backbone's multi-scale features.

Every decoder is built from the backbone's ``feature_info`` (channels and stride per level) and
never from its name, so any zoo backbone works. Each exposes ``out_channels`` and ``out_stride``;
:class:`SegmentationNet` puts a 1x1 classifier on top, pads the input to the deepest stride and
crops the logits back, so images of any size go in and logits of the same size come out.

* ``fpn``: the semantic branch of Panoptic FPN (Kirillov et al., 2019): top-down pathway with
  lateral 1x1 convolutions, each level refined and summed at the finest stride >= 4.
* ``unet``: U-Net style: from the deepest level, upsample, concatenate the skip, two 3x3 convs.
* ``deeplabv3``: DeepLabV3's ASPP head on the deepest level. Our backbones are not dilated, so the
  atrous rates (6, 12, 18 at output stride 16) are scaled to the actual deepest stride.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.zoo.backbone import Backbone, FeatureInfo

HEADS = ("fpn", "unet", "deeplabv3")


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + ReLU, 'same' padding."""
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _resize(x: torch.Tensor, like: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    if x.shape[-2:] == like.shape[-2:]:
        return x
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(x, size=like.shape[-2:], mode=mode, **kwargs)


class FPNDecoder(nn.Module):
    """Panoptic-FPN semantic branch over the levels with stride >= 4."""

    def __init__(
        self, feature_info: list[FeatureInfo], channels: int = 128, seg_channels: int = 64
    ):
        super().__init__()
        levels = [i for i, f in enumerate(feature_info) if f.stride >= 4] or list(
            range(len(feature_info))
        )
        self.levels = levels
        self.lateral = nn.ModuleList(
            nn.Conv2d(feature_info[i].channels, channels, 1) for i in levels
        )
        self.refine = nn.ModuleList(conv_bn_relu(channels, seg_channels) for _ in levels)
        self.out_channels = seg_channels
        self.out_stride = feature_info[levels[0]].stride

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        lat = [conv(features[i]) for conv, i in zip(self.lateral, self.levels, strict=True)]
        for i in range(len(lat) - 2, -1, -1):  # top-down: deep semantics flow into fine levels
            lat[i] = lat[i] + _resize(lat[i + 1], lat[i], mode="nearest")
        out = self.refine[0](lat[0])
        for refine, x in zip(self.refine[1:], lat[1:], strict=True):
            out = out + _resize(refine(x), out)
        return out


class UNetDecoder(nn.Module):
    """U-Net style decoder: upsample, concatenate the skip connection, two 3x3 convs per level."""

    def __init__(
        self, feature_info: list[FeatureInfo], channels: tuple[int, ...] = (128, 64, 48, 32, 16)
    ):
        super().__init__()
        skips = [f.channels for f in feature_info[:-1]][::-1]  # deep to shallow
        widths = [channels[min(i, len(channels) - 1)] for i in range(len(skips))]
        cin = feature_info[-1].channels
        self.blocks = nn.ModuleList()
        for skip, cout in zip(skips, widths, strict=True):
            self.blocks.append(
                nn.Sequential(conv_bn_relu(cin + skip, cout), conv_bn_relu(cout, cout))
            )
            cin = cout
        if not skips:  # a single-level backbone: one refining block
            self.blocks.append(conv_bn_relu(cin, channels[0]))
            cin = channels[0]
        self.out_channels = cin
        self.out_stride = feature_info[0].stride

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        skips = features[:-1][::-1]
        if not skips:
            return self.blocks[0](x)
        for block, skip in zip(self.blocks, skips, strict=True):
            x = block(torch.cat([_resize(x, skip), skip], dim=1))
        return x


class _ASPPPooling(nn.Module):
    # No BatchNorm after global pooling: with batch size 1 it would see one value per channel and
    # fail in training (torchvision's ASPP has that limitation; a last batch of one is common).
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.conv(F.adaptive_avg_pool2d(x, 1)))
        return y.expand(-1, -1, *x.shape[-2:])


class DeepLabV3Decoder(nn.Module):
    """ASPP (1x1, three atrous 3x3, image pooling) + projection + 3x3 conv on the deepest level."""

    def __init__(self, feature_info: list[FeatureInfo], channels: int = 128):
        super().__init__()
        deepest = feature_info[-1]
        self.rates = tuple(max(1, round(r * 16 / deepest.stride)) for r in (6, 12, 18))
        cin = deepest.channels
        self.branches = nn.ModuleList(
            [conv_bn_relu(cin, channels, kernel=1)]
            + [conv_bn_relu(cin, channels, dilation=r) for r in self.rates]
            + [_ASPPPooling(cin, channels)]
        )
        self.project = nn.Sequential(
            conv_bn_relu(5 * channels, channels, kernel=1), nn.Dropout(0.1)
        )
        self.refine = conv_bn_relu(channels, channels)
        self.out_channels = channels
        self.out_stride = deepest.stride

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        return self.refine(self.project(torch.cat([b(x) for b in self.branches], dim=1)))


def build_decoder(name: str, feature_info: list[FeatureInfo]) -> nn.Module:
    """The decoder called ``name`` (fpn | unet | deeplabv3) for these feature levels."""
    if name not in HEADS:
        raise ConfigError(
            f"unknown segmentation head {name!r}.{did_you_mean(name, HEADS)}",
            hint=f"valid heads: {', '.join(HEADS)} (--head)",
        )
    if not feature_info:
        raise ConfigError("the backbone reports no feature levels (feature_info is empty)")
    return {"fpn": FPNDecoder, "unet": UNetDecoder, "deeplabv3": DeepLabV3Decoder}[name](
        feature_info
    )


class SegmentationNet(nn.Module):
    """Backbone -> decoder -> 1x1 classifier; any input size, logits at the input size."""

    def __init__(self, backbone: Backbone, decoder: nn.Module, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.decoder = decoder
        self.head = nn.Conv2d(decoder.out_channels, num_classes, 1)
        self.num_classes = num_classes
        self.stride = max(f.stride for f in backbone.feature_info)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # Pad right/bottom to a multiple of the deepest stride so all levels align; crop back after.
        ph, pw = (-h) % self.stride, (-w) % self.stride
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        logits = self.head(self.decoder(self.backbone.forward_features(x)))
        logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits[..., :h, :w]

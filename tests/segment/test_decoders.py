"""Decoders read feature_info, accept any input size and return logits of that size."""

from __future__ import annotations

import pytest
import torch

from transferkit.core.errors import ConfigError
from transferkit.tasks.segment.decoders import HEADS, SegmentationNet, build_decoder
from transferkit.transfer.model import TransferModel


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", ["mobilenetv3_small_050"])
def test_any_input_size_gives_logits_of_that_size(make_backbone, name, head):
    bb = make_backbone(name)
    net = SegmentationNet(bb, build_decoder(head, bb.feature_info), num_classes=3).eval()
    with torch.no_grad():
        for h, w in [(64, 64), (45, 70), (33, 32)]:
            out = net(torch.randn(2, 3, h, w))
            assert out.shape == (2, 3, h, w)


def test_input_is_padded_right_bottom_to_the_stride_and_cropped_back(make_backbone):
    """A 50x60 input gives exactly the top-left crop of the zero-padded 64x64 input's logits."""
    bb = make_backbone("mobilenetv3_small_050")
    net = SegmentationNet(bb, build_decoder("unet", bb.feature_info), 2).eval()
    x = torch.randn(1, 3, 50, 60)
    with torch.no_grad():
        small = net(x)
        padded = net(torch.nn.functional.pad(x, (0, 4, 0, 14)))
    assert small.shape == (1, 2, 50, 60)
    torch.testing.assert_close(small, padded[..., :50, :60])


def test_deeplab_rates_follow_the_deepest_stride(make_backbone):
    bb = make_backbone("mobilenetv3_small_050")
    dec = build_decoder("deeplabv3", bb.feature_info)
    assert bb.feature_info[-1].stride == 32
    assert dec.rates == (3, 6, 9)


def test_unknown_head_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'unet'|Did you mean 'unet'"):
        build_decoder("unt", [])


def test_groups_cover_backbone_stages_and_new_parts(make_backbone):
    bb = make_backbone("mobilenetv3_small_050")
    net = SegmentationNet(bb, build_decoder("fpn", bb.feature_info), 4)
    model = TransferModel(net, "backbone", {"decoder": "decoder", "head": "head"}, task="segment")
    groups = model.groups()
    assert [g.name for g in groups][-2:] == ["decoder", "head"]
    assert sum(g.num_parameters() for g in groups) == sum(p.numel() for p in net.parameters())
    # Freezing every backbone stage leaves exactly the decoder and head trainable.
    model.set_trainable([not g.pretrained for g in groups])
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in net.decoder.parameters()) + sum(
        p.numel() for p in net.head.parameters()
    )
    loss = model(torch.randn(2, 3, 64, 64)).sum()
    loss.backward()
    assert all(p.grad is None for p in bb.parameters())
    assert all(p.grad is not None for p in net.head.parameters())

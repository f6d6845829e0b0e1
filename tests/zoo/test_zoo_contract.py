"""The backbone contract, checked for every entry of the alias table (random init, small input)."""

from __future__ import annotations

import math

import pytest
import torch

from transferkit.zoo import create_backbone
from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.grouping import ParamHolder

# Small inputs keep this cheap, except for Inception v3: its unpadded convolutions shrink maps
# below size/stride unless the input is near its native 299.
INPUT = {"inception_v3": 299}


@pytest.fixture(scope="module")
def built():
    """One random-init backbone per alias, built once for the module's tests."""
    cache: dict[str, object] = {}

    def get(alias):
        if alias not in cache:
            torch.manual_seed(0)
            cache[alias] = create_backbone(alias, weights="none").eval()
        return cache[alias]

    return get


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_contract(alias, built):
    backbone = built(alias)
    size = INPUT.get(alias, 64)
    x = torch.randn(1, 3, size, size)

    assert backbone.weights_info is None  # random init was asked for, and says so
    assert backbone.name == ALIASES[alias] or backbone.name.startswith(ALIASES[alias] + ".")

    # feature_info matches forward_features: channels, and strides growing by powers of two.
    order: list[int] = []
    with torch.no_grad():
        maps = backbone.forward_features(x)
        hooks = _record_stage_order(backbone, order)
        pooled = backbone.forward_pooled(x)
    for h in hooks:
        h.remove()
    assert len(maps) == len(backbone.feature_info) >= 1
    strides = [f.stride for f in backbone.feature_info]
    assert strides == sorted(set(strides)), strides
    for fmap, info in zip(maps, backbone.feature_info, strict=True):
        assert fmap.ndim == 4 and fmap.shape[1] == info.channels, (info, fmap.shape)
        assert 2 ** round(math.log2(size / fmap.shape[-1])) == info.stride, (info, fmap.shape)
    assert pooled.shape == (1, backbone.num_features)

    # stages: every parameter exactly once, stem first, run in stage order.
    stages = backbone.stages()
    assert stages[0].name == "stem" and len(stages) >= 3
    ids = [id(p) for s in stages for p in s.parameters()]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in backbone.parameters()}
    assert all(s.num_parameters() > 0 for s in stages)
    assert order == sorted(order), f"stages ran out of order: {order}"
    assert set(order) == set(range(len(stages))) - _holder_only(stages)

    # preprocessing comes from the weights' own config.
    cfg = backbone.data_config
    assert len(cfg.mean) == len(cfg.std) == 3 and cfg.input_size[0] == 3
    assert cfg.interpolation in ("bilinear", "bicubic")
    assert 0.5 < cfg.crop_pct <= 1.0


def _record_stage_order(backbone, order):
    """Forward pre-hooks that append a stage's index whenever the running stage changes.

    Hooks go on every sub-module: an adapter may run a stage module's children one by one.
    """
    hooks = []
    for index, stage in enumerate(backbone.stages()):
        for module in stage.modules:
            if isinstance(module, ParamHolder):
                continue

            def hook(_m, _inp, index=index):
                if not order or order[-1] != index:
                    order.append(index)

            hooks += [m.register_forward_pre_hook(hook) for m in module.modules()]
    return hooks


def _holder_only(stages):
    return {i for i, s in enumerate(stages) if all(isinstance(m, ParamHolder) for m in s.modules)}


def test_data_config_is_the_weights_own():
    """tv: the weights enum's transforms; timm: the pretrained config (not ImageNet constants)."""
    from torchvision.models import get_model_weights

    tv = create_backbone("inception_v3", weights="none").data_config
    meta = get_model_weights("inception_v3").DEFAULT.transforms()
    assert tv.input_size == (3, 299, 299) and list(tv.mean) == list(meta.mean)
    assert tv.crop_pct == pytest.approx(299 / 342)
    lite = create_backbone("efficientnet_lite2", weights="none").data_config
    assert lite.mean == (0.5, 0.5, 0.5) and lite.interpolation == "bicubic"
    assert lite.input_size == (3, 260, 260)

"""Transform presets from a DataConfig, checked against torchvision's functional reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode

from transferkit.core.errors import ConfigError
from transferkit.data.transforms.classify import eval_transform, train_transform
from transferkit.zoo.backbone import DataConfig

CFG = DataConfig(
    mean=(0.5, 0.4, 0.3),
    std=(0.2, 0.25, 0.5),
    input_size=(3, 32, 32),
    interpolation="bicubic",
    crop_pct=0.875,
)


def photo(w=48, h=40) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([x * 5 % 256, y * 6 % 256, (x * y) % 256], -1).astype(np.uint8)
    return Image.fromarray(a)


def test_eval_transform_matches_the_reference_chain():
    im = photo()
    out = eval_transform(CFG)(im)
    # the reference: shorter side to floor(32 / 0.875) = 36, center crop 32, normalise
    ref = TF.resize(im, math.floor(32 / 0.875), InterpolationMode.BICUBIC)
    ref = TF.normalize(TF.to_tensor(TF.center_crop(ref, [32, 32])), CFG.mean, CFG.std)
    assert out.dtype == torch.float32 and out.shape == (3, 32, 32)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_normalisation_values_by_hand():
    im = Image.new("RGB", (40, 40), (128, 51, 255))
    out = eval_transform(CFG, img_size=16)(im)
    assert out.shape == (3, 16, 16)
    expected = [(128 / 255 - 0.5) / 0.2, (51 / 255 - 0.4) / 0.25, (1.0 - 0.3) / 0.5]
    for c in range(3):
        torch.testing.assert_close(out[c], torch.full((16, 16), expected[c]), atol=1e-5, rtol=0)


def test_img_size_overrides_and_non_square():
    assert eval_transform(CFG, img_size=24)(photo()).shape == (3, 24, 24)
    assert train_transform(CFG, img_size=(20, 28))(photo()).shape == (3, 20, 28)
    wide = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, input_size=(3, 24, 40))
    assert eval_transform(wide)(photo(100, 30)).shape == (3, 24, 40)


def test_train_transform_is_random_but_seeded():
    t = train_transform(CFG)
    torch.manual_seed(0)
    a = t(photo())
    torch.manual_seed(0)
    b = t(photo())
    c = t(photo())
    assert a.shape == (3, 32, 32)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_bad_settings_are_config_errors():
    bad = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, interpolation="bicubc")
    with pytest.raises(ConfigError, match="Did you mean 'bicubic'"):
        eval_transform(bad)
    with pytest.raises(ConfigError, match="img_size"):
        train_transform(CFG, img_size=0)
    with pytest.raises(ConfigError, match="crop_pct"):
        eval_transform(DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, crop_pct=1.5))

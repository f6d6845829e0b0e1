"""Augmentation presets: "default" is today's training transform, knobs are checked, singles apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from transferkit.core.errors import ConfigError
from transferkit.data.augment import (
    AUGMENT_CHOICES,
    DESCRIPTIONS,
    PRESETS,
    AugmentSettings,
    RandomAreaCrop,
    augment_settings,
    augmented_eval_transform,
    classification_train_transform,
    single_augmentations,
    turn_off,
)
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


def _types(compose: v2.Compose) -> list[type]:
    return [type(t) for t in compose.transforms]


def test_default_preset_is_the_current_training_transform():
    ours = classification_train_transform(augment_settings("default"), CFG, 24)
    today = train_transform(CFG, 24)
    assert _types(ours) == _types(today)
    assert repr(ours) == repr(today)
    for seed in range(5):  # same random draws, same pixels
        torch.manual_seed(seed)
        a = ours(photo())
        torch.manual_seed(seed)
        b = today(photo())
        torch.testing.assert_close(a, b)


def test_none_trains_on_what_the_model_is_evaluated_on():
    t = classification_train_transform(augment_settings("none"), CFG)
    torch.testing.assert_close(t(photo()), eval_transform(CFG)(photo()))
    torch.testing.assert_close(t(photo()), t(photo()))  # deterministic


def test_light_and_strong_presets():
    light = augment_settings("light")
    assert (light.hflip, light.vflip, light.crop_scale, light.jitter) == (0.0, 0.0, (0.8, 1.0), 0.0)
    assert _types(classification_train_transform(light, CFG))[:1] == [v2.RandomResizedCrop]
    assert v2.RandomHorizontalFlip not in _types(classification_train_transform(light, CFG))
    strong = classification_train_transform(augment_settings("strong"), CFG, 16)
    assert {v2.RandomRotation, v2.ColorJitter, v2.RandomHorizontalFlip} <= set(_types(strong))
    assert strong(photo()).shape == (3, 16, 16)
    assert augment_settings("auto") == PRESETS["default"] == AugmentSettings()
    assert set(AUGMENT_CHOICES) == {"none", "light", "default", "strong", "auto"}


def test_overrides_start_from_the_preset():
    s = augment_settings("light", hflip=0.5, vflip=0.25, crop_scale=[0.5, 0.9], rotation=10)
    assert s == AugmentSettings(
        hflip=0.5, vflip=0.25, crop_scale=(0.5, 0.9), jitter=0.0, rotation=10
    )
    assert s.to_dict()["crop_scale"] == [0.5, 0.9]
    t = classification_train_transform(s, CFG, (20, 28))
    assert {v2.RandomVerticalFlip, v2.RandomRotation} <= set(_types(t))
    assert t(photo()).shape == (3, 20, 28)


@pytest.mark.parametrize(
    ("name", "overrides", "match"),
    [
        ("ligth", {}, "Did you mean 'light'"),
        ("default", {"hflp": 0.5}, "Did you mean 'hflip'"),
        ("default", {"hflip": 1.5}, "'hflip' must be a probability in \\[0, 1\\]"),
        ("default", {"vflip": -0.1}, "'vflip'"),
        ("default", {"jitter": "strong"}, "'jitter'"),
        ("default", {"jitter": True}, "'jitter'"),
        ("default", {"rotation": 400}, "'rotation' must be degrees"),
        ("default", {"crop_scale": (0.9, 0.5)}, "0 < min <= max <= 1"),
        ("default", {"crop_scale": (0.0, 1.0)}, "0 < min <= max <= 1"),
        ("default", {"crop_scale": (0.5, 1.2)}, "'crop_scale'"),
        ("default", {"crop_scale": 0.5}, "must be a pair"),
        ("default", {"crop_scale": "01"}, "must be a pair"),
        ("default", {"hflip": float("nan")}, "'hflip'"),
    ],
)
def test_bad_values_are_config_errors_with_a_hint(name, overrides, match):
    with pytest.raises(ConfigError, match=match) as err:
        augment_settings(name, **overrides)
    assert err.value.hint


def test_single_augmentations_apply_always():
    singles = single_augmentations(augment_settings("default"))
    assert list(singles) == ["hflip", "crop", "jitter"]
    assert set(singles) <= set(DESCRIPTIONS)
    im = photo()
    flipped = singles["hflip"](im)
    assert np.array_equal(np.asarray(flipped), np.asarray(im)[:, ::-1])
    assert single_augmentations(augment_settings("none")) == {}
    every = single_augmentations(augment_settings("strong", vflip=0.1))
    assert list(every) == ["hflip", "vflip", "crop", "rotation", "jitter"]
    assert np.array_equal(np.asarray(every["vflip"](im)), np.asarray(im)[::-1])


def test_area_crop_keeps_a_share_of_the_area_unresized():
    crop = RandomAreaCrop((0.25, 0.5))
    im = photo(60, 60)
    torch.manual_seed(0)
    for _ in range(20):
        out = crop(im)
        area = out.size[0] * out.size[1] / (60 * 60)
        assert 0.2 <= area <= 0.55  # rounding of the box sides
    tensor = torch.rand(3, 60, 60)
    assert crop(tensor).shape[1] * crop(tensor).shape[2] <= 0.55 * 3600


def test_turn_off_names_single_augmentations():
    s = turn_off(augment_settings("strong"), ["hflip", "crop", "jitter", "rotation"])
    assert s == AugmentSettings(hflip=0.0, crop_scale=(1.0, 1.0), jitter=0.0, rotation=0.0)
    assert single_augmentations(s) == {}
    with pytest.raises(ConfigError, match="Did you mean 'hflip'"):
        turn_off(s, ["hflp"])


def test_augmented_eval_transform_is_the_augmentation_then_eval():
    flip = single_augmentations(augment_settings("default"))["hflip"]
    im = photo()
    out = augmented_eval_transform(flip, CFG, 24)(im)
    ref = eval_transform(CFG, 24)(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    torch.testing.assert_close(out, ref)
    # the crop's settings are in its repr, which keys the feature cache
    assert "scale=(0.8, 1.0)" in repr(augmented_eval_transform(RandomAreaCrop((0.8, 1.0)), CFG))

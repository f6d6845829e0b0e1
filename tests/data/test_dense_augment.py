"""Detection and segmentation augmentation from the same presets and knobs as classification:
boxes and masks follow every geometric step, and the knobs a task cannot honour are refused."""

from __future__ import annotations

import pytest
import torch
from torchvision import tv_tensors

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.augment import augment_settings, dense_augment
from transferkit.data.transforms import detection, segment
from transferkit.zoo.backbone import DataConfig

DC = DataConfig(input_size=(3, 32, 32), mean=(0.5,) * 3, std=(0.5,) * 3)


def _image_and_box():
    image = tv_tensors.Image(torch.randint(0, 255, (3, 40, 60), dtype=torch.uint8))
    box = tv_tensors.BoundingBoxes([[5, 4, 20, 10]], format="XYXY", canvas_size=(40, 60))
    return image, {"boxes": box, "labels": torch.tensor([1])}


def test_none_trains_on_the_evaluation_geometry_and_vflip_moves_the_box():
    image, target = _image_and_box()
    none = detection.train_transform(40, augment_settings("none"), detection.SCALE_JITTER["none"])
    _, trained = none(image, target)
    _, evaluated = detection.eval_transform(40)(image, target)
    torch.testing.assert_close(trained["boxes"], evaluated["boxes"])
    flip = augment_settings("none", vflip=1.0)
    _, flipped = detection.train_transform(40, flip, (1.0, 1.0))(image, target)
    assert flipped["boxes"].tolist() == [[5, 30, 20, 36]]  # y mirrored in a 40-px-high image


def test_detection_scale_jitter_follows_the_preset():
    image = tv_tensors.Image(torch.zeros(3, 40, 40, dtype=torch.uint8))
    box = tv_tensors.BoundingBoxes([[5, 4, 20, 10]], format="XYXY", canvas_size=(40, 40))
    target = {"boxes": box, "labels": torch.tensor([1])}
    heights = set()
    torch.manual_seed(0)
    none = augment_settings("none")
    strong = detection.train_transform(40, none, detection.SCALE_JITTER["strong"])
    for _ in range(40):
        heights.add(strong(image, target)[0].shape[-2])
    assert heights == {20, 30, 40, 50, 60}  # five steps over 0.5x .. 1.5x of the shorter side


def test_segmentation_masks_follow_flips_and_rotation_fills_ignore():
    image = tv_tensors.Image(torch.zeros(3, 32, 32, dtype=torch.uint8))
    mask = tv_tensors.Mask(torch.zeros(32, 32, dtype=torch.int64))
    mask[:8] = 1  # the top rows are class 1
    settings = augment_settings("none", vflip=1.0)
    t = segment.segmentation_train_transform(DC, 32, 255, segment.SCALE_JITTER["none"], settings)
    _, out = t(image, mask)
    assert out[-8:].eq(1).all() and out[:-8].eq(0).all()
    rotate = augment_settings("none", rotation=45.0)
    t = segment.segmentation_train_transform(DC, 32, 255, (1.0, 1.0), rotate)
    torch.manual_seed(1)
    values = set(t(image, mask)[1].unique().tolist())
    assert values <= {0, 1, 255} and 255 in values  # corners: ignore, never a new class


def test_knobs_a_task_cannot_honour_are_refused_and_auto_is_default():
    cfg = RunConfig().with_values(task="detect", rotation=10.0)
    with pytest.raises(ConfigError, match="--rotation cannot apply"):
        dense_augment(cfg.data, ("crop_scale", "rotation"), "task 'detect'")
    settings, preset = dense_augment(RunConfig().data, ("crop_scale",), "semantic segmentation")
    assert preset == "default" and settings == augment_settings("default")
    light = RunConfig().with_values(augment="light", hflip=0.25).data
    settings, preset = dense_augment(light, ("crop_scale",), "semantic segmentation")
    assert preset == "light" and settings.hflip == 0.25 and settings.jitter == 0.0

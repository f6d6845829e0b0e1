"""Instance and semantic segmentation train on YOLO polygon and LabelMe folders as they are.

Semantic segmentation runs ``train`` end to end; instance segmentation loads the data through the
task and takes a loss step on it (a Mask R-CNN run end to end costs minutes on CPU; the same
command on these folders is in the instance section of docs/data_formats.md).
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.data.polygon_sets import labelme_folder, ultralytics_seg
from tests.tiny import TinyBackbone
from transferkit.cli.main import main
from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.masks import segmentation_to_mask
from transferkit.tasks.instance import TASK

BUILDERS = {"yolo": ultralytics_seg, "labelme": lambda root: labelme_folder(root, n=8)}
CLASSES = {"yolo": ["leaf", "stem"], "labelme": ["bud", "leaf", "stem"]}


@pytest.mark.parametrize("fmt", ["yolo", "labelme"])
def test_segment_trains_on_the_folder(tmp_path, fmt):
    data = BUILDERS[fmt](tmp_path / "data")
    run = tmp_path / "run"
    argv = ["train", "--task", "segment", "--data", str(data)]
    argv += ["--backbone", "timm:mobilenetv3_small_050", "--weights", "none", "--epochs", "2"]
    argv += ["--img-size", "32", "--batch-size", "2", "--val-fraction", "0.5"]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    names = json.loads((run / "classes.json").read_text())["class_names"]
    assert names == ["background", *CLASSES[fmt]]
    assert json.loads((run / "metrics.json").read_text())["val"]["miou"] >= 0


@pytest.mark.parametrize("fmt", ["yolo", "labelme"])
def test_instance_samples_carry_the_polygons_and_train(tmp_path, fmt):
    data = BUILDERS[fmt](tmp_path / "data")
    cfg = RunConfig(task="instance").with_values(path=str(data), img_size=64, val_fraction=0.5)
    d = TASK.load_data(cfg, TinyBackbone().data_config)
    assert d.class_names == CLASSES[fmt] and d.summary["format"] == fmt
    image, target = d.val[0]
    record = d.val.records[0]
    assert target["masks"].shape[0] == len(record.objects) > 0
    for k, o in enumerate(record.objects):  # original-size masks, as evaluation sees them
        expected = segmentation_to_mask(target["gt"][k]["segmentation"], 48, 64)
        assert expected.sum() > 0 and o.segmentation == target["gt"][k]["segmentation"]
    torch.manual_seed(0)
    model = TASK.build_model(TinyBackbone(), len(d.class_names), ModelSettings(weights="none"))
    model.train()
    loss = TASK.training_loss(model, TASK.collate([d.train[0], d.train[1]]))
    assert torch.isfinite(loss)
    loss.backward()
    assert model.net.roi_heads.mask_predictor.mask_fcn_logits.weight.grad.abs().sum() > 0


def test_a_last_training_batch_of_one_image_is_dropped_not_a_crash(tmp_path):
    # 4 train images in batches of 3: the last batch would hold one image, which BatchNorm in the
    # decoder cannot normalise in train mode.
    data = labelme_folder(tmp_path / "data", n=8)
    argv = ["train", "--task", "segment", "--data", str(data), "--epochs", "1"]
    argv += ["--backbone", "timm:mobilenetv3_small_050", "--weights", "none"]
    argv += ["--img-size", "32", "--batch-size", "3", "--val-fraction", "0.5"]
    assert main([*argv, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert json.loads((tmp_path / "run" / "data.json").read_text())["images"]["train"] == 4

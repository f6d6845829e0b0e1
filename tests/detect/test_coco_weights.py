"""``--weights coco``: torchvision's COCO detector files load into our detector, predictor fresh."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn

from transferkit.core.config import ModelSettings
from transferkit.core.errors import WeightsUnavailableError
from transferkit.tasks.detect import TASK
from transferkit.tasks.detect.weights import COCO_FILES
from transferkit.zoo import create_backbone


def test_faster_rcnn_resnet50_coco_file_loads_all_but_the_predictor(_isolated_home):
    # A checkpoint in torchvision's exact layout (random values stand in for the COCO ones).
    torch.manual_seed(0)
    reference = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    folder = _isolated_home / "weights" / "detectors"
    folder.mkdir(parents=True)
    torch.save(reference.state_dict(), folder / COCO_FILES[("faster_rcnn", "tv:resnet50")])

    settings = ModelSettings(backbone="resnet50", weights="coco", detector="faster_rcnn")
    model = TASK.build_model(create_backbone("resnet50", weights="none"), 3, settings)
    ours = model.net.state_dict()
    ref = reference.state_dict()
    body = model.net.backbone.body
    conv1 = next(m for m in body.modules() if isinstance(m, torch.nn.Conv2d))
    assert torch.equal(conv1.weight, ref["backbone.body.conv1.weight"])
    for key in (
        "backbone.fpn.inner_blocks.0.0.weight",
        "rpn.head.conv.0.0.weight",
        "roi_heads.box_head.fc6.weight",
        "roi_heads.box_head.fc7.bias",
    ):
        assert torch.equal(ours[key], ref[key]), key
    # The predictor is new: 3 classes + background, not COCO's 91.
    assert ours["roi_heads.box_predictor.cls_score.weight"].shape == (4, 1024)
    assert model.net.backbone.freeze_norm_stats


def test_missing_coco_file_names_where_it_looked():
    settings = ModelSettings(backbone="resnet50", weights="coco", detector="retinanet")
    with pytest.raises(WeightsUnavailableError, match="retinanet_resnet50_fpn_coco-eeacb38b.pth"):
        TASK.build_model(create_backbone("resnet50", weights="none"), 2, settings)
    with pytest.raises(ValueError, match="no COCO detector weights for detector 'fcos'"):
        TASK.build_model(
            create_backbone("timm:resnet18", weights="none"),
            2,
            ModelSettings(backbone="timm:resnet18", weights="coco", detector="fcos"),
        )


def test_train_from_coco_weights_through_the_cli(_isolated_home, tmp_path):
    from transferkit.cli.main import main
    from transferkit.data.demo.scenes import write_scenes

    torch.manual_seed(0)
    reference = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    folder = _isolated_home / "weights" / "detectors"
    folder.mkdir(parents=True)
    torch.save(reference.state_dict(), folder / COCO_FILES[("faster_rcnn", "tv:resnet50")])
    data = write_scenes(tmp_path / "scenes", n_train=2, n_val=1, n_test=0, seed=5)
    args = "--backbone resnet50 --weights coco --strategy head --epochs 1 --img-size 48 --quiet"
    run = tmp_path / "run"
    assert (
        main(["train", "--task", "detect", "--data", str(data), "--out", str(run), *args.split()])
        == 0
    )
    from transferkit.runs.rundir import load_run

    handle = load_run(run)  # rebuilt from the run's config alone, then its checkpoint
    fpn = handle.model.net.backbone.fpn
    # Strategy head: the backbone stayed frozen, so it still holds the COCO file's values.
    conv1 = next(
        m for m in handle.model.net.backbone.body.modules() if isinstance(m, torch.nn.Conv2d)
    )
    assert torch.equal(conv1.weight, reference.state_dict()["backbone.body.conv1.weight"])
    assert fpn.inner_blocks[0][0].weight.shape[0] == 256

"""The detect task on a tiny random backbone: samples, strategies, losses, state-free evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from torchvision import tv_tensors

from tests.tiny import TinyBackbone
from transferkit.core.config import ModelSettings, RunConfig
from transferkit.data.datasets.detection import DetectionDataset
from transferkit.data.records import DetectionRecord, ObjectAnn
from transferkit.data.transforms.detection import eval_transform, train_transform
from transferkit.tasks.common.coco_eval import evaluate_coco
from transferkit.tasks.common.detections import to_original
from transferkit.tasks.common.detectors import build_detector
from transferkit.tasks.detect import TASK
from transferkit.transfer.plan import build_plan
from transferkit.transfer.strategy import parse_strategy

from .helpers import simple_coco


def _model(detector="faster_rcnn", pretrained=True):
    torch.manual_seed(0)
    return build_detector(TinyBackbone(), 2, detector, freeze_norm_stats=pretrained)


def _batch(tmp_path, n=2, train=True, size=32):
    simple_coco(tmp_path, n_images=n, size=(64, 48))
    cfg = RunConfig(task="detect").with_values(
        path=str(tmp_path / "instances.json"), img_size=size, val_fraction=0.5
    )
    splits = TASK.load_data(cfg, TinyBackbone().data_config)
    ds = splits.train if train else splits.val
    return TASK.collate([ds[i] for i in range(len(ds))])


@pytest.mark.parametrize(
    "detector,parts",
    [
        ("faster_rcnn", ["fpn", "rpn", "roi_heads"]),
        ("retinanet", ["fpn", "head"]),
        ("fcos", ["fpn", "head"]),
    ],
)
def test_groups_and_head_strategy(detector, parts):
    model = _model(detector)
    groups = model.groups()
    assert [g.name for g in groups] == ["stage0", "stage1", "stage2", *parts]
    plan = build_plan(model, parse_strategy("head"), epochs=1)
    model.set_trainable(plan.trainable_flags(0))
    net = model.net
    new = [net.backbone.fpn] + (
        [net.rpn, net.roi_heads] if detector == "faster_rcnn" else [net.head]
    )
    expected = sum(p.numel() for m in new for p in m.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == expected == plan.trainable_parameters(0)
    assert not any(p.requires_grad for p in net.backbone.body.parameters())


def test_partial_strategy_trains_deepest_stage(tmp_path):
    model = _model()
    model.set_trainable(build_plan(model, parse_strategy("partial:1"), 1).trainable_flags(0))
    body = model.net.backbone.body
    assert [all(p.requires_grad for p in b.parameters()) for b in body.blocks] == [
        False,
        False,
        True,
    ]
    images, targets = _batch(tmp_path)
    model.train()
    TASK.training_loss(model, (images, targets)).backward()
    assert body.blocks[2][0].weight.grad is not None and body.blocks[0][0].weight.grad is None


def test_samples_are_tv_tensors_and_val_keeps_original_boxes(tmp_path):
    simple_coco(tmp_path, n_images=2, size=(64, 48))
    cfg = RunConfig(task="detect").with_values(
        path=str(tmp_path / "instances.json"), img_size=32, val_fraction=0.5
    )
    splits = TASK.load_data(cfg, TinyBackbone().data_config)
    image, target = splits.train[0]
    assert isinstance(image, tv_tensors.Image) and image.dtype == torch.float32
    assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
    assert target["labels"].dtype == torch.int64
    image, target = splits.val[0]
    assert tuple(image.shape[-2:]) == (32, 42)  # shorter side 48 -> 32; 64 -> int(42.67)
    rec = splits.val.records[0]
    torch.testing.assert_close(target["orig_boxes"], torch.tensor([o.box for o in rec.objects]))
    torch.testing.assert_close(
        target["boxes"].as_subclass(torch.Tensor),
        target["orig_boxes"] * torch.tensor([42 / 64, 32 / 48] * 2),
        atol=0.01,
        rtol=0,
    )
    assert splits.summary["category_ids"] == [1, 3]


def test_train_augmentation_moves_boxes_with_the_object(tmp_path):
    # A white rectangle on black, annotated exactly: after flip / scale jitter / colour changes,
    # the box must still cover the bright pixels.
    img = torch.zeros(3, 60, 80, dtype=torch.uint8)
    img[:, 10:30, 50:70] = 255
    from PIL import Image

    Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / "r.png")
    rec = DetectionRecord(tmp_path / "r.png", 80, 60, 1, [ObjectAnn((50, 10, 70, 30), 1)], "r.png")
    ds = DetectionDataset([rec], train_transform(60), train=True)
    flipped = 0
    for seed in range(12):
        torch.manual_seed(seed)
        image, target = ds[0]
        x1, y1, x2, y2 = (round(v) for v in target["boxes"][0].tolist())
        h, w = image.shape[-2:]
        gray = image.mean(0)
        inside = gray[y1:y2, x1:x2].mean()
        mask = torch.ones(h, w, dtype=torch.bool)
        mask[max(y1 - 2, 0) : y2 + 2, max(x1 - 2, 0) : x2 + 2] = False
        assert inside > gray[mask].mean() + 0.3
        flipped += x1 < w / 2
    assert 0 < flipped < 12  # both orientations seen


def test_loss_and_state_free_evaluation(tmp_path):
    model = _model(pretrained=False)  # norms in train mode: the case where state could move
    batch = _batch(tmp_path, n=2, train=False)
    model.train()
    loss = TASK.training_loss(model, batch)
    assert torch.isfinite(loss) and loss.item() > 0
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    metrics = TASK.make_metrics(["cat", "dog"])
    val1 = TASK.evaluation_step(model, batch, metrics)
    val2 = TASK.evaluation_step(model, batch, metrics)
    assert torch.isfinite(val1) and val1.item() == val2.item()  # repeatable
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics untouched
    assert torch.equal(rng, torch.get_rng_state())
    assert not any(m.training for m in model.modules())
    out = metrics.compute()
    assert {"map", "map_50", "map_75", "map_small", "map_medium", "map_large"} <= set(out)


def test_pretrained_backbone_keeps_norm_statistics():
    pretrained, scratch = _model(pretrained=True), _model(pretrained=False)
    pretrained.train()
    scratch.train()
    bn = [m for m in pretrained.net.backbone.body.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn and not any(m.training for m in bn)
    assert all(
        m.training
        for m in scratch.net.backbone.body.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
    )


def test_metrics_match_coco_eval_on_perfect_and_shifted_boxes(tmp_path):
    images, targets = _batch(tmp_path, n=2, train=False)
    metrics = TASK.make_metrics(["cat", "dog"])
    preds = []
    for t in targets:
        boxes = t["orig_boxes"].clone()
        boxes[0] += torch.tensor([3.0, 0, 3.0, 0])  # first box shifted 3 px: IoU 17/23 = 0.74
        preds.append(
            {"boxes": boxes, "labels": t["labels"], "scores": torch.linspace(0.9, 0.5, len(boxes))}
        )
    metrics.update(preds, (images, targets))
    out = metrics.compute()
    assert out["map_50"] == pytest.approx(1.0)
    assert 0.5 < out["map"] < 1.0
    gt = {
        "images": metrics.images,
        "annotations": metrics.annotations,
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }
    assert out["map"] == pytest.approx(
        evaluate_coco(gt, metrics.results, backend="pycocotools")["map"]
    )


def test_to_original_scales_and_clips():
    pred = {
        "boxes": torch.tensor([[10.0, 5.0, 40.0, 30.0], [0.0, 0.0, 70.0, 40.0]]),
        "labels": torch.tensor([1, 2]),
        "scores": torch.tensor([0.9, 0.8]),
    }
    out = to_original(pred, (32, 64), (48, 96))  # model saw 64 x 32, the original is 96 x 48
    torch.testing.assert_close(
        out["boxes"], torch.tensor([[15.0, 7.5, 60.0, 45.0], [0, 0, 96, 48.0]])
    )


@pytest.mark.parametrize("detector", ["retinanet", "fcos"])
def test_one_stage_detectors_train_and_predict(tmp_path, detector):
    model = _model(detector)
    batch = _batch(tmp_path, n=2, train=False)
    model.train()
    assert torch.isfinite(TASK.training_loss(model, batch))
    model.eval()
    assert torch.isfinite(TASK.evaluation_step(model, batch, TASK.make_metrics(["cat", "dog"])))


def test_build_model_from_settings_and_unknown_detector():
    model = TASK.build_model(TinyBackbone(), 3, ModelSettings(detector="fcos", weights="none"))
    assert model.task == "detect" and model.net.backbone.freeze_norm_stats is False
    with pytest.raises(ValueError, match="unknown detector 'yolo'"):
        TASK.build_model(TinyBackbone(), 3, ModelSettings(detector="yolo"))
    assert eval_transform(32) is not None


def test_skipped_annotations_are_counted_and_said(tmp_path, capsys):
    path = simple_coco(tmp_path, n_images=4)
    d = json.loads(path.read_text())
    d["annotations"][0]["category_id"] = 7
    d["annotations"][1]["bbox"] = [60, 40, 20, 20]  # leaves the 64 x 48 image: clipped
    path.write_text(json.dumps(d))
    cfg = RunConfig(task="detect").with_values(path=str(path), on_bad_image="skip", img_size=32)
    splits = TASK.load_data(cfg, TinyBackbone().data_config)
    assert splits.summary["skipped"] == 1 and splits.summary["clipped_boxes"] == 1
    assert "unknown category: 1" in capsys.readouterr().out

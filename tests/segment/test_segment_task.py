"""Segment task: loss with ignore_index, metrics against a confusion-matrix reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tests.segment.helpers import blob_mask, write_pair
from tests.tiny import TinyBackbone
from transferkit.core.config import ModelSettings
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.tasks.segment import TASK
from transferkit.tasks.segment.predict import evaluate_predictions
from transferkit.tasks.segment.task import (
    SemanticMetrics,
    build_segmenter,
    dice_loss,
    resolve_head,
    segmentation_loss,
)


def reference_metrics(preds: np.ndarray, target: np.ndarray, c: int, ignore: int) -> dict:
    """mIoU / pixel accuracy / Dice from a confusion matrix, classes absent from both skipped."""
    keep = target != ignore
    cm = np.bincount(target[keep] * c + preds[keep], minlength=c * c).reshape(c, c)
    tp = np.diag(cm).astype(float)
    fn, fp = cm.sum(1) - tp, cm.sum(0) - tp
    present = (tp + fn + fp) > 0
    iou = tp[present] / (tp + fn + fp)[present]
    dice = 2 * tp[present] / (2 * tp + fn + fp)[present]
    return {
        "miou": iou.mean(),
        "pixel_accuracy": tp.sum() / cm.sum(),
        "dice": dice.mean(),
        "iou": np.where(present, tp / np.maximum(tp + fn + fp, 1), np.nan),
    }


def test_metrics_equal_a_confusion_matrix_reference_with_ignore_and_an_absent_class():
    rng = np.random.default_rng(0)
    c, ignore = 5, 255
    names = [f"c{i}" for i in range(c)]
    metrics = SemanticMetrics(names, ignore)
    all_p, all_t = [], []
    for _ in range(3):  # batches accumulate
        target = rng.integers(0, 3, (2, 16, 20))  # classes 3 and 4 never in the ground truth
        target[rng.random(target.shape) < 0.1] = ignore
        preds = np.where(
            rng.random(target.shape) < 0.7, np.clip(target, 0, 2), rng.integers(0, 4, target.shape)
        )
        metrics.update_indices(torch.from_numpy(preds), torch.from_numpy(target))
        all_p.append(preds.ravel())
        all_t.append(target.ravel())
    got = metrics.compute()
    ref = reference_metrics(np.concatenate(all_p), np.concatenate(all_t), c, ignore)
    for key in ("miou", "pixel_accuracy", "dice"):
        assert got[key] == pytest.approx(ref[key], abs=1e-6)
    assert got["per_class_iou"]["c4"] is None  # neither predicted nor present: not averaged
    assert got["per_class_iou"]["c3"] == 0.0  # predicted but absent: counts as 0
    assert got["per_class_iou"]["c1"] == pytest.approx(ref["iou"][1], abs=1e-6)


def test_update_from_logits_uses_the_argmax():
    metrics = SemanticMetrics(["a", "b"], 255)
    logits = torch.tensor([[[[2.0, -1.0]], [[0.0, 3.0]]]])  # (1, 2, 1, 2): predicts a, b
    metrics.update(logits, (None, torch.tensor([[[0, 0]]])))
    out = metrics.compute()
    assert out["pixel_accuracy"] == 0.5 and out["miou"] == pytest.approx((0.5 + 0.0) / 2)


def test_cross_entropy_skips_ignored_pixels_and_all_ignored_is_zero():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.randint(0, 3, (2, 4, 4))
    target[0, 0] = 255
    keep = target != 255
    manual = F.cross_entropy(logits.permute(0, 2, 3, 1)[keep], target[keep])
    assert segmentation_loss(logits, target).item() == pytest.approx(manual.item(), abs=1e-6)
    zero = segmentation_loss(logits, torch.full_like(target, 255))
    zero.backward()
    assert zero.item() == 0.0 and torch.isfinite(logits.grad).all()


def test_dice_loss_is_small_for_a_confident_correct_prediction_and_adds_with_weight():
    target = torch.randint(0, 2, (1, 16, 16), generator=torch.Generator().manual_seed(0))
    target[0, 0] = 255
    good = F.one_hot(target.clamp(0, 1), 2).permute(0, 3, 1, 2).float() * 20
    assert dice_loss(good, target, 255) < 0.01
    assert dice_loss(-good, target, 255) > 0.9
    ce = segmentation_loss(-good, target)
    assert segmentation_loss(-good, target, dice_weight=0.5) == pytest.approx(
        ce.item() + 0.5 * dice_loss(-good, target, 255).item(), rel=1e-6
    )


def test_head_defaults_to_fpn_and_bad_settings_are_config_errors():
    assert resolve_head(ModelSettings()) == "fpn"
    assert resolve_head(ModelSettings(head="unet")) == "unet"
    with pytest.raises(ConfigError, match="unknown segmentation head 'mlp'"):
        TASK.build_model(TinyBackbone(), 3, ModelSettings(head="mlp"))
    with pytest.raises(ConfigError, match="dice_weight"):
        TASK.build_model(TinyBackbone(), 3, ModelSettings(head="fpn", dice_weight=-1))


def test_head_strategy_trains_decoder_only_and_keeps_backbone_statistics():
    torch.manual_seed(0)
    model = build_segmenter(TinyBackbone(), 3, "unet")
    groups = model.groups()
    model.set_trainable([not g.pretrained for g in groups])
    bb = model.backbone
    before = {k: v.clone() for k, v in bb.state_dict().items()}
    head_before = model.net.head.weight.clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    images, masks = torch.randn(2, 3, 32, 32), torch.randint(0, 3, (2, 32, 32))
    for _ in range(2):
        loss = TASK.training_loss(model, (images, masks))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in bb.state_dict().items():  # weights and BatchNorm running statistics
        assert torch.equal(v, before[k]), k
    assert not torch.equal(model.net.head.weight, head_before)


def test_evaluate_predictions_of_another_tool_matches_the_reference(tmp_path):
    rng = np.random.default_rng(1)
    data, preds_dir = tmp_path / "data", tmp_path / "preds"
    preds_dir.mkdir()
    all_p, all_t = [], []
    for i in range(3):
        gt = blob_mask(i, size=24)
        gt[0, :4] = 255
        write_pair(data, f"im{i}", gt)
        pred = np.where(rng.random(gt.shape) < 0.8, np.clip(gt, 0, 2), rng.integers(0, 3, gt.shape))
        pred = pred.astype(np.uint8)
        if i == 0:  # a palette PNG, as many tools write them
            im = Image.fromarray(pred, mode="P")
            im.putpalette([255, 255, 255, 0, 0, 255, 0, 255, 0] + [0] * 759)
            im.save(preds_dir / f"im{i}.png")
        else:
            Image.fromarray(pred).save(preds_dir / f"im{i}.png")
        if i < 2:
            all_p.append(pred.ravel().astype(int))
            all_t.append(gt.ravel().astype(int))
    (preds_dir / "im2.png").unlink()  # one ground-truth image left without a prediction
    (data / "classes.txt").write_text("bg\nx\ny\n")
    got = evaluate_predictions(data, preds_dir, {})
    ref = reference_metrics(np.concatenate(all_p), np.concatenate(all_t), 3, 255)
    assert got["miou"] == pytest.approx(ref["miou"], abs=1e-6)
    assert got["pixel_accuracy"] == pytest.approx(ref["pixel_accuracy"], abs=1e-6)
    assert (got["images"], got["images_without_prediction"]) == (2, 1)

    Image.fromarray(np.zeros((24, 24), np.uint8)).save(preds_dir / "stranger.png")
    with pytest.raises(DatasetError, match="match no ground-truth image: stranger"):
        evaluate_predictions(data, preds_dir, {})
    (preds_dir / "stranger.png").unlink()
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(preds_dir / "im1.png")
    with pytest.raises(DatasetError, match="prediction is 24x20, ground truth im1.jpg is 24x24"):
        evaluate_predictions(data, preds_dir, {})
    Image.fromarray(np.full((24, 24), 3, np.uint8)).save(preds_dir / "im1.png")
    with pytest.raises(DatasetError, match="predicted value 3 is not one of the 3 classes"):
        evaluate_predictions(data, preds_dir, {})

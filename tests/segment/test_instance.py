"""Instance task: COCO masks in, Mask R-CNN losses, predictions, mask AP equal to pycocotools'."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.tiny import TinyBackbone
from transferkit.core.config import ModelSettings, RunConfig
from transferkit.core.errors import DatasetError
from transferkit.core.stats import summary_of
from transferkit.data.masks import mask_to_polygons, mask_to_rle, rle_to_mask
from transferkit.tasks.instance import TASK
from transferkit.tasks.instance.predict import evaluate_predictions
from transferkit.tasks.instance.task import InstanceMetrics


def disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return (((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r).astype(np.uint8)


def write_coco(root, n_images=4, size=64, bad=None):
    """Images with two discs each: one annotated as a polygon, one as RLE."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(1, n_images + 1):
        img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
        f = size / 64
        objs = [
            disc(size, size, 18 * f, (18 + i) * f, 9 * f),
            disc(size, size, 44 * f, 40 * f, (11 - i % 3) * f),
        ]
        for k, m in enumerate(objs):
            img[m > 0] = (200, 180 + 20 * k, 60)
            ys, xs = np.nonzero(m)
            seg = mask_to_polygons(m) if k == 0 else mask_to_rle(m)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 3 + k,
                    "segmentation": seg,
                    "bbox": [
                        int(xs.min()),
                        int(ys.min()),
                        int(np.ptp(xs)) + 1,
                        int(np.ptp(ys)) + 1,
                    ],
                    "area": int(m.sum()),
                    "iscrowd": 0,
                }
            )
        Image.fromarray(img).save(root / f"im{i}.png")
        images.append({"id": i, "file_name": f"im{i}.png", "width": size, "height": size})
    if bad is not None:
        anns[0]["segmentation"] = bad
    cats = [{"id": 3, "name": "round"}, {"id": 4, "name": "blob"}]
    (root / "ann.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats})
    )
    return root / "ann.json"


def pycocotools_stats(gt: dict, results: list[dict], iou_type: str) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = json.loads(json.dumps(gt))
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(json.loads(json.dumps(results))), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_mask_ap_equals_pycocotools_on_unseen_predictions():
    rng = np.random.default_rng(3)
    metrics = InstanceMetrics(["round", "blob"])
    gt = {
        "images": [],
        "annotations": [],
        "categories": [{"id": 1, "name": "round"}, {"id": 2, "name": "blob"}],
    }
    results = []
    for image_id in range(1, 6):
        h, w = 48, 56
        objs = [
            (
                disc(h, w, rng.integers(10, 38), rng.integers(10, 46), rng.integers(4, 9)),
                rng.integers(1, 3),
            )
            for _ in range(3)
        ]
        target = {"image_id": image_id, "orig_size": torch.tensor([h, w]), "gt": []}
        for m, label in objs:
            ys, xs = np.nonzero(m)
            ann = {
                "bbox": [
                    float(xs.min()),
                    float(ys.min()),
                    float(np.ptp(xs) + 1),
                    float(np.ptp(ys) + 1),
                ],
                "category_id": int(label),
                "iscrowd": 0,
                "segmentation": mask_to_polygons(m) if image_id % 2 else mask_to_rle(m),
                "area": float(m.sum()),
            }
            target["gt"].append(ann)
            gt["annotations"].append(
                {"id": len(gt["annotations"]) + 1, "image_id": image_id, **ann}
            )
        gt["images"].append({"id": image_id, "width": w, "height": h})
        # Predictions: shifted / eroded copies of the truth, a label swap and a false positive.
        preds = []
        for k, (m, label) in enumerate(objs):
            shifted = np.roll(m, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 2)))
            preds.append(
                (
                    shifted,
                    int(label) if k != 1 or image_id != 2 else 3 - int(label),
                    float(rng.random()),
                )
            )
        preds.append((disc(h, w, 5, 5, 4), 1, 0.9))
        boxes = []
        for m, _, _ in preds:
            ys, xs = np.nonzero(m)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        out = {
            "boxes": torch.tensor(boxes, dtype=torch.float32),
            "labels": torch.tensor([p[1] for p in preds]),
            "scores": torch.tensor([p[2] for p in preds]),
            "masks": torch.from_numpy(np.stack([p[0] for p in preds]) > 0),
        }
        metrics.update([out], (None, [target]))
        for (m, label, score), b in zip(preds, boxes, strict=True):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": label,
                    "score": score,
                    "segmentation": mask_to_rle(m),
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                }
            )
    got = metrics.compute()
    segm = pycocotools_stats(gt, results, "segm")
    bbox = pycocotools_stats(
        gt, [{k: v for k, v in r.items() if k != "segmentation"} for r in results], "bbox"
    )
    assert 0.1 < segm[0] < 0.95  # a real spread, not a trivial 0 or 1
    assert got["mask_map"] == pytest.approx(segm[0], abs=1e-6)
    assert got["mask_map_50"] == pytest.approx(segm[1], abs=1e-6)
    assert got["mask_map_75"] == pytest.approx(segm[2], abs=1e-6)
    assert got["map"] == pytest.approx(bbox[0], abs=1e-6)
    assert got["map_50"] == pytest.approx(bbox[1], abs=1e-6)
    # All images drawn once is the metric itself (pycocotools); intervals bracket it.
    once = metrics.resample(np.ones((1, metrics.num_images)))
    for key in ("mask_map", "mask_map_50", "mask_map_75", "map", "map_50", "map_75"):
        assert once[key][0] == pytest.approx(got[key], abs=1e-6), key
    lo, hi = summary_of(metrics)["ci"]["mask_map"]
    assert lo <= got["mask_map"] <= hi and lo < hi


def cfg_for(path, **values):
    values = {"img_size": 64, "val_fraction": 0.5, **values}
    return RunConfig(task="instance").with_values(path=str(path), **values)


def test_samples_carry_masks_that_match_the_annotations(tmp_path):
    d = TASK.load_data(cfg_for(write_coco(tmp_path)), TinyBackbone().data_config)
    assert d.class_names == ["round", "blob"] and len(d.train) == 2 and len(d.val) == 2
    image, target = d.val[0]
    assert image.shape == (3, 64, 64) and target["masks"].shape == (2, 64, 64)
    ann = target["gt"][1]  # the RLE object, kept as given for COCO evaluation
    np.testing.assert_array_equal(
        target["masks"][1].numpy(), rle_to_mask(ann["segmentation"], 64, 64)
    )
    torch.manual_seed(0)
    for _ in range(3):  # train transforms move masks with boxes
        _, t = d.train[0]
        for m, box in zip(t["masks"], t["boxes"], strict=True):
            ys, xs = torch.nonzero(m, as_tuple=True)
            assert (
                abs(float(xs.min()) - float(box[0])) <= 1.5
                and abs(float(ys.max() + 1) - float(box[3])) <= 1.5
            )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([[10, 10, 20, 10]], "polygon with 2 points"),
        ({"size": [32, 64], "counts": "PP`0"}, r"RLE size \[32, 64\] .* \[64, 64\]"),
    ],
)
def test_bad_segmentations_fail_or_are_skipped_with_a_count(tmp_path, bad, message):
    path = write_coco(tmp_path, bad=bad)
    with pytest.raises(DatasetError, match=message):
        TASK.load_data(cfg_for(path), TinyBackbone().data_config)
    d = TASK.load_data(cfg_for(path, on_bad_image="skip"), TinyBackbone().data_config)
    assert d.summary["annotation_issues"]["counts"] == {"bad_segmentation": 1}


def test_losses_train_and_validation_leaves_batchnorm_untouched(tmp_path):
    d = TASK.load_data(
        cfg_for(write_coco(tmp_path, size=32), img_size=32), TinyBackbone().data_config
    )
    torch.manual_seed(0)
    model = TASK.build_model(TinyBackbone(), 2, ModelSettings(weights="none"))
    model.net.roi_heads.detections_per_img = 10  # an untrained model fills all 100 slots: slow
    model.train()
    loss = TASK.training_loss(model, TASK.collate([d.train[0]]))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert model.net.roi_heads.mask_predictor.mask_fcn_logits.weight.grad is not None
    model.eval()
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    metrics = TASK.make_metrics(d.class_names)
    val_loss = TASK.evaluation_step(model, TASK.collate([d.val[0]]), metrics)
    assert torch.isfinite(val_loss) and not model.training
    for k, v in model.state_dict().items():
        if "running" in k:
            assert torch.equal(v, stats[k]), k
    out = metrics.compute()
    assert {"mask_map", "mask_map_50", "map", "map_50"} <= set(out)


def test_evaluate_predictions_accepts_polygons_and_refuses_rle_of_another_size(tmp_path):
    path = write_coco(tmp_path, n_images=2)
    gt = json.loads(path.read_text())
    perfect = []
    for a in gt["annotations"]:
        seg = a["segmentation"]
        perfect.append(
            {
                "file_name": f"im{a['image_id']}.png",
                "image_id": 99,
                "category_id": a["category_id"],
                "segmentation": seg,
                "bbox": a["bbox"],
                "score": 0.9,
            }
        )
    (tmp_path / "res.json").write_text(json.dumps(perfect))
    got = evaluate_predictions(path, tmp_path / "res.json", {})
    assert got["mask_map"] == pytest.approx(1.0) and got["detections"] == 4
    perfect[1]["segmentation"] = mask_to_rle(np.zeros((32, 64), np.uint8))
    (tmp_path / "res.json").write_text(json.dumps(perfect))
    with pytest.raises(DatasetError, match=r"result #1 .*RLE size \[32, 64\]"):
        evaluate_predictions(path, tmp_path / "res.json", {})


def test_skipped_segmentations_are_counted_and_said_as_for_detection(tmp_path, capsys):
    path = write_coco(tmp_path, bad=[[10, 10, 20, 10]])
    d = TASK.load_data(cfg_for(path, on_bad_image="skip", quiet=False), TinyBackbone().data_config)
    assert d.summary["skipped"] == 1 and d.summary["clipped_boxes"] == 0
    assert "annotations skipped or repaired (bad segmentation: 1)" in capsys.readouterr().out

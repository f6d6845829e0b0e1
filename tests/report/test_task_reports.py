"""Detection and segmentation reports: predictions beside ground truth, per-class bars."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.export.helpers import make_run
from tests.report.test_report import embedded_images
from tests.segment.helpers import blob_mask, write_pair
from transferkit.api import predict
from transferkit.core.fileio import write_json
from transferkit.data.masks import read_mask_image
from transferkit.report import write_report
from transferkit.tasks.common.examples import SAMPLE, SCORE_THRESHOLD, evenly

CAPTION = re.compile(r"<figcaption>([^<]*)</figcaption>")


def test_detection_report_draws_ground_truth_beside_detections(tmp_path):
    from transferkit.data.demo.scenes import SCENE_CLASSES, write_scenes

    data = write_scenes(tmp_path / "data", n_train=2, n_val=4, n_test=0)
    run = make_run(tmp_path / "run", "detect", class_names=SCENE_CLASSES, img_size=64)
    cfg = (run / "config.yaml").read_text().replace(str(tmp_path / "run" / "data"), str(data))
    (run / "config.yaml").write_text(cfg)
    ap = {"T-shirt/top": 0.5, "Trouser": 0.25, "Sandal": -1.0, "Bag": 0.0, "Ankle boot": 1.0}
    write_json(run / "metrics.json", {"val": {"map": 0.35, "map_per_class": ap}, "map": 0.35})
    html = write_report(run).read_text(encoding="utf-8")
    assert "map_per_class (val)" in html
    gt = json.loads((data / "val" / "_annotations.coco.json").read_text())
    images = sorted(gt["images"], key=lambda i: i["file_name"])
    chosen = evenly(images, SAMPLE)
    captions = [c for c in CAPTION.findall(html) if c.startswith("scene_")]
    assert [c.split(":")[0] for c in captions] == [i["file_name"] for i in chosen]
    preds = predict(
        run, [data / "val" / i["file_name"] for i in chosen], score_threshold=SCORE_THRESHOLD
    )
    for caption, info, pred in zip(captions, chosen, preds, strict=True):
        objects = sum(a["image_id"] == info["id"] for a in gt["annotations"])
        assert caption == (
            f"{info['file_name']}: {objects} object(s), {len(pred['detections'])} detection(s)"
        )
    pairs = [im for im in embedded_images(html) if im.height < im.width]
    assert len(pairs) >= len(chosen)


def test_segmentation_report_states_each_images_pixel_accuracy(tmp_path):
    data = tmp_path / "data"
    for i in range(10):
        write_pair(data, f"img{i:02d}", blob_mask(i, size=40))
    run = make_run(tmp_path / "run", "segment", class_names=("class_0", "class_1", "class_2"))
    cfg = (run / "config.yaml").read_text().replace(str(tmp_path / "run" / "data"), str(data))
    (run / "config.yaml").write_text(cfg)
    iou = {"class_0": 0.9, "class_1": 0.25, "class_2": None}
    write_json(run / "metrics.json", {"val": {"miou": 0.6, "per_class_iou": iou}, "miou": 0.6})
    html = write_report(run).read_text(encoding="utf-8")
    assert "per_class_iou (val)" in html
    captions = [c for c in CAPTION.findall(html) if c.startswith("img")]
    assert 1 <= len(captions) <= SAMPLE
    for caption in captions:
        name, value = re.fullmatch(r"(img\d+\.jpg): pixel accuracy ([0-9.]+)", caption).groups()
        mask = predict(run, [data / "images" / name])[0]["mask"]
        target = read_mask_image(data / "masks" / name.replace(".jpg", ".png"))
        assert float(value) == pytest.approx(float(np.mean(mask == target)), abs=6e-4)


def test_instance_report_draws_masks_beside_ground_truth(tmp_path):
    from transferkit.data.demo.scenes import SCENE_CLASSES, write_scenes

    data = write_scenes(tmp_path / "data", n_train=2, n_val=2, n_test=0)
    run = make_run(tmp_path / "run", "instance", class_names=SCENE_CLASSES, img_size=64)
    cfg = (run / "config.yaml").read_text().replace(str(tmp_path / "run" / "data"), str(data))
    (run / "config.yaml").write_text(cfg)
    html = write_report(run).read_text(encoding="utf-8")
    gt = json.loads((data / "val" / "_annotations.coco.json").read_text())
    captions = [c for c in CAPTION.findall(html) if c.startswith("scene_")]
    preds = predict(
        run, [data / "val" / i["file_name"] for i in gt["images"]], score_threshold=SCORE_THRESHOLD
    )
    assert len(captions) == len(gt["images"]) == 2
    for caption, info, pred in zip(captions, gt["images"], preds, strict=True):
        objects = sum(a["image_id"] == info["id"] for a in gt["annotations"])
        assert caption == (
            f"{info['file_name']}: {objects} object(s), {len(pred['detections'])} instance(s)"
        )

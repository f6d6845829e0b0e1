"""Scoring results files made by other tools against COCO, VOC and YOLO ground truth."""

from __future__ import annotations

import json

import pytest

from transferkit.tasks.detect.predict import evaluate_predictions

from .helpers import simple_coco
from .test_readers import _voc, _yolo_image


def _write(tmp_path, results):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    return path


def test_voc_ground_truth_matched_by_file_name(tmp_path):
    _voc(tmp_path / "voc", ["a", "b"], {"train": ["a"], "val": ["b"]})
    # b.xml: car [0, 0, 20, 10] (label 2 in labelmap order) and a difficult person.
    perfect = [
        {
            "file_name": "b.jpg",
            "image_id": "b",
            "category_id": 2,
            "bbox": [0, 0, 20, 10],
            "score": 0.9,
        }
    ]
    out = evaluate_predictions(tmp_path / "voc", _write(tmp_path, perfect), {})
    assert out["map"] == pytest.approx(1.0) and out["images"] == 1
    # The difficult person is ignored: detecting it is neither a hit nor a false positive.
    extra = perfect + [
        {
            "file_name": "b.jpg",
            "category_id": 1,
            "image_id": 0,
            "bbox": [29.5, 4, 20.5, 35],
            "score": 0.8,
        }
    ]
    assert evaluate_predictions(tmp_path / "voc", _write(tmp_path, extra), {})["map"] == 1.0


def test_yolo_ground_truth_with_string_image_ids(tmp_path):
    _yolo_image(tmp_path, "val", "p", ["0 0.5 0.5 0.2 0.4"])
    _yolo_image(tmp_path, "train", "q", ["0 0.5 0.5 0.2 0.4"])
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [boat]\n")
    # Ultralytics writes image_id as the file stem; the box is [40, 15, 60, 35] on 100 x 50.
    results = [
        {"image_id": "p", "category_id": 1, "bbox": [40, 15, 20, 20], "score": 0.7},
        {"image_id": "p", "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
    ]
    out = evaluate_predictions(tmp_path, _write(tmp_path, results), {"split": "val"})
    # One hit ranked below one false positive: precision 1/2 at recall 1 -> AP 0.5 at every IoU.
    assert out["map"] == pytest.approx(0.5, abs=0.01) and out["detections"] == 2


def test_coco_file_without_images_on_disk(tmp_path):
    path = simple_coco(tmp_path, n_images=2)
    for p in tmp_path.glob("*.png"):
        p.unlink()  # ground truth alone is enough to score
    gt = json.loads(path.read_text())
    perfect = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 1.0,
        }
        for a in gt["annotations"]
    ]
    assert evaluate_predictions(path, _write(tmp_path, perfect), {})["map"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no 'test' split"):
        evaluate_predictions(path, _write(tmp_path, perfect), {"split": "test"})

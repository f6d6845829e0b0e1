"""One prediction loop per task: a PyTorch model and an onnxruntime session are both a runner.

The runners here are stand-ins that return fixed outputs, so the loops' own steps (preprocessing,
mapping back to the original image, thresholds, category ids, batching) are checked without a
model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from transferkit.data.masks import rle_to_mask
from transferkit.tasks.classify.predict import predict_with as classify_predict
from transferkit.tasks.common.predict import ModelInfo
from transferkit.tasks.detect.predict import predict_with as detect_predict
from transferkit.tasks.instance.predict import predict_with as instance_predict
from transferkit.zoo.backbone import DataConfig

CONFIG = DataConfig(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=(3, 32, 32))


def _image(path, w=64, h=48):
    Image.fromarray(np.full((h, w, 3), 120, np.uint8)).save(path)
    return path


def _detector(seen: list, masks: bool = False):
    """Two detections in the model's input pixels: a confident one and one scored 0.01 (with
    Mask R-CNN's mask probabilities when ``masks``)."""

    def run(image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen.append(tuple(image.shape))
        _, h, w = image.shape
        out = {
            "boxes": torch.tensor([[0.0, 0.0, w / 2, h / 2], [1.0, 1.0, 4.0, 4.0]]),
            "labels": torch.tensor([2, 1]),
            "scores": torch.tensor([0.9, 0.01]),
        }
        if masks:
            out["masks"] = torch.zeros(2, 1, h, w)
            out["masks"][0, 0, : h // 2, : w // 2] = 0.9
        return out

    return run


def test_detection_loop_maps_boxes_back_and_keeps_what_the_threshold_says(tmp_path):
    image = _image(tmp_path / "a.png")
    info = ModelInfo(["bag", "shoe"], CONFIG, img_size=32, category_ids=[7, 9])
    seen: list = []
    [pred] = detect_predict(_detector(seen), info, [image], {})
    assert seen == [(3, 32, 42)]  # shorter side resized to img_size, one image per call
    assert pred["width"] == 64 and pred["height"] == 48 and pred["image_id"] == 1
    [det] = pred["detections"]  # the 0.01 detection is under the default threshold (0.05)
    assert det["label"] == "shoe" and det["category_id"] == 9
    assert det["box"] == pytest.approx([0, 0, 32, 24], abs=0.5)  # original image pixels
    every = detect_predict(_detector([]), info, [image], {"score_threshold": 0.0})
    assert [d["score"] for d in every[0]["detections"]] == [0.9, 0.01]


def test_instance_loop_keeps_everything_at_threshold_zero(tmp_path):
    image = _image(tmp_path / "a.png")
    info = ModelInfo(["cell", "nucleus"], CONFIG, img_size=32, category_ids=[1, 2])
    # A threshold of 0 asks for every instance; it used to become the default 0.05.
    [pred] = instance_predict(_detector([], masks=True), info, [image], {"score_threshold": 0})
    assert [d["score"] for d in pred["detections"]] == [0.9, 0.01]
    mask = rle_to_mask(pred["detections"][0]["segmentation"], 48, 64).astype(bool)
    assert mask.shape == (48, 64) and mask[:20, :28].all() and not mask[30:, 40:].any()
    drawn = tmp_path / "drawn"
    instance_predict(_detector([], masks=True), info, [image], {"draw_dir": drawn})
    assert [p.name for p in drawn.iterdir()] == ["00001_a.png"]


def test_classify_loop_batches_as_the_model_allows(tmp_path):
    images = [_image(tmp_path / f"{i}.png") for i in range(3)]
    batches: list = []

    def run(x: torch.Tensor) -> dict[str, torch.Tensor]:
        batches.append(x.shape[0])
        return {"logits": torch.tensor([[0.0, 2.0, 1.0]]).repeat(x.shape[0], 1)}

    names = ["cat", "dog", "fox"]
    preds = classify_predict(run, ModelInfo(names, CONFIG, 32, [1, 2, 3]), images, {"top_k": 2})
    assert batches == [3]
    assert [p["label"] for p in preds] == ["dog"] * 3
    assert [t["label"] for t in preds[0]["top_k"]] == ["dog", "fox"]
    fixed = ModelInfo(names, CONFIG, 32, [1, 2, 3], max_batch=1)  # an export without a batch axis
    batches.clear()
    classify_predict(run, fixed, images, {"batch_size": 8})
    assert batches == [1, 1, 1]

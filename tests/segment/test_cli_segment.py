"""End to end through the CLI: train -> evaluate -> predict -> score the predictions; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.segment.helpers import blob_mask, write_pair
from transferkit.cli.main import main


@pytest.fixture
def seg_data(tmp_path):
    root = tmp_path / "data"
    for split, n in (("train", 4), ("val", 3)):
        for i in range(n):
            write_pair(
                root / split, f"{split}{i}", blob_mask(i + (10 if split == "val" else 0), 40)
            )
    (root / "classes.txt").write_text("background\nleaf\nstem\n")
    return root


def test_train_evaluate_predict_and_score_the_written_masks(seg_data, tmp_path, capsys):
    run = tmp_path / "run"
    argv = [
        "train",
        "--task",
        "segment",
        "--data",
        str(seg_data),
        "--backbone",
        "timm:mobilenetv3_small_050",
        "--weights",
        "none",
        "--head",
        "unet",
        "--epochs",
        "1",
        "--img-size",
        "32",
        "--batch-size",
        "4",
        "--out",
        str(run),
        "--quiet",
    ]
    assert main(argv) == 0
    assert json.loads((run / "classes.json").read_text())["class_names"] == [
        "background",
        "leaf",
        "stem",
    ]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    own = json.loads(capsys.readouterr().out)
    assert own["split"] == "val" and 0 <= own["miou"] <= 1
    lo, hi = own["ci"]["miou"]  # evaluate gives the 95 % bootstrap interval over images
    assert lo <= own["miou"] <= hi and set(own["ci"]) == {"miou", "pixel_accuracy", "dice"}

    preds = tmp_path / "preds"
    draw = tmp_path / "draw"
    assert (
        main(
            [
                "predict",
                str(run),
                str(seg_data / "val" / "images"),
                "--out",
                str(preds),
                "--draw",
                str(draw),
            ]
        )
        == 0
    )
    written = sorted(p.name for p in preds.iterdir())
    assert written == ["val0.png", "val1.png", "val2.png"] and len(list(draw.iterdir())) == 3
    with Image.open(preds / "val0.png") as im:
        assert im.mode == "P" and im.size == (40, 40)
        assert set(np.unique(np.asarray(im)).tolist()) <= {0, 1, 2}
    capsys.readouterr()
    argv = [
        "evaluate",
        "--task",
        "segment",
        "--data",
        str(seg_data),
        "--predictions",
        str(preds),
        "--json",
    ]
    assert main(argv) == 0
    scored = json.loads(capsys.readouterr().out)
    # The same model on the same val images: scoring its PNGs gives the run's own numbers.
    assert scored["images"] == 3 and scored["images_without_prediction"] == 4
    for key in ("miou", "pixel_accuracy", "dice"):
        assert scored[key] == pytest.approx(own[key], abs=1e-6)


def test_bad_masks_exit_2_with_the_file_named(seg_data, tmp_path, capsys):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(
        seg_data / "train" / "images" / "nomask.jpg"
    )
    argv = [
        "train",
        "--task",
        "segment",
        "--data",
        str(seg_data),
        "--backbone",
        "timm:mobilenetv3_small_050",
        "--weights",
        "none",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "nomask.jpg: mask file not found" in err and "--on-bad-image skip" in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


@pytest.mark.parametrize(
    ("task", "extra", "new_parts"),
    [
        ("segment", ["--head", "deeplabv3"], ["decoder", "head"]),
        ("instance", [], ["fpn", "rpn", "roi_heads"]),
    ],
)
def test_plan_shows_backbone_stages_and_the_new_parts(task, extra, new_parts, capsys):
    argv = [
        "plan",
        "--task",
        task,
        "--backbone",
        "timm:mobilenetv3_small_050",
        "--strategy",
        "partial:2",
        *extra,
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {
        line.split()[0]: line
        for line in lines
        if line.strip() and not line.startswith(("Freeze", "group"))
    }
    for part in new_parts:
        assert f"{part} (new)" in rows[part] and rows[part].rstrip().endswith("yes")
    assert rows["stem"].rstrip().endswith("frozen") and rows["blocks.5"].rstrip().endswith("yes")


def test_instance_polygon_of_two_points_exits_2_naming_the_annotation(tmp_path, capsys):
    from tests.segment.test_instance import write_coco

    path = write_coco(tmp_path / "coco", bad=[[10, 10, 20, 10]])
    argv = [
        "train",
        "--task",
        "instance",
        "--data",
        str(path),
        "--backbone",
        "timm:mobilenetv3_small_050",
        "--weights",
        "none",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "run"),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "im1.png (image id 1), object 1: polygon with 2 points" in err
    assert "--on-bad-image skip" in err

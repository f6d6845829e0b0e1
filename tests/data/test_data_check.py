"""``data check`` on data sets with planted problems: each is found, named, and sets the exit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.data.check.dataset import check_dataset


def kinds(report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in report.problems:
        out.setdefault(p.kind, []).append(p.severity)
    return out


def test_clean_folder_passes_with_the_training_counts(tmp_path, capsys):
    data = make_image_folder(tmp_path / "data", per_class=10, splits=["train", "val"])
    report = check_dataset(data)
    assert report.problems == []
    assert report.summary["counts"] == {
        "train": {"blue": 10, "green": 10, "red": 10},
        "val": {"blue": 10, "green": 10, "red": 10},
    }
    assert report.summary["image_size"]["most_common"] == {"32x32": 60}
    assert report.summary["file_formats"] == {"PNG": 60}
    assert main(["data", "check", str(data)]) == 0
    out = capsys.readouterr().out
    assert "problems: 0 error(s), 0 warning(s)" in out and "result: clean" in out


def test_planted_classification_problems_are_all_found(tmp_path, capsys):
    data = make_image_folder(
        tmp_path / "data",
        classes=("red", "green", "blue", "grey"),
        per_class=4,
        splits=["train", "val"],
    )
    # Leakage: a training image copied into val under another name.
    shutil.copy(data / "train/red/red_0.png", data / "val/red/leaked.png")
    # A truncated PNG: the header reads, the pixels do not.
    whole = (data / "train/green/green_1.png").read_bytes()
    (data / "train/green/truncated.png").write_bytes(whole[: len(whole) // 2])
    # A class with no image in val, and a file training does not read.
    shutil.rmtree(data / "val/grey")
    (data / "train/blue/photo.heic").write_bytes(b"not read")
    report = check_dataset(data)
    found = kinds(report)
    assert found == {
        "corrupt_image": ["error"],
        "leakage": ["error"],
        "class_missing_in_split": ["warning"],
        "ignored_files": ["warning"],
    }
    leak = next(p for p in report.problems if p.kind == "leakage")
    assert sorted(leak.paths) == [
        str(data / "train/red/red_0.png"),
        str(data / "val/red/leaked.png"),
    ]
    assert "train and val" in leak.message
    corrupt = next(p for p in report.problems if p.kind == "corrupt_image")
    assert corrupt.paths == [str(data / "train/green/truncated.png")]
    assert "'grey'" in next(
        p.message for p in report.problems if p.kind == "class_missing_in_split"
    )
    assert report.summary["counts"]["train"]["green"] == 4  # the truncated file is skipped
    assert main(["data", "check", str(data), "--json"]) == 1
    as_json = json.loads(capsys.readouterr().out)
    assert as_json["ok"] is False and as_json["errors"] == 2 and as_json["warnings"] == 2


def test_empty_class_folders_are_each_named(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=3)
    for name in ("zebra", "yak"):
        (data / name).mkdir()
    (data / "yak" / "notes.txt").write_text("todo")
    same = data / "red" / "again.png"
    shutil.copy(data / "blue" / "blue_2.png", same)
    report = check_dataset(data)
    empty = [p for p in report.problems if p.kind == "empty_class"]
    assert [p.paths for p in empty] == [[str(data / "yak")], [str(data / "zebra")]]
    assert ".txt" in empty[0].message
    conflict = [p for p in report.problems if p.kind in ("conflicting_labels", "leakage")]
    assert len(conflict) == 1 and "'blue'" in conflict[0].message and "'red'" in conflict[0].message
    assert report.summary["counts"]["unsplit"] == {"blue": 3, "green": 3, "red": 4}


def test_planted_detection_problems(tmp_path, capsys):
    from transferkit.data.demo.scenes import write_scenes

    data = write_scenes(tmp_path / "scenes", n_train=4, n_val=3, n_test=0)
    ann_file = data / "train/_annotations.coco.json"
    coco = json.loads(ann_file.read_text())
    coco["categories"].append({"id": 9, "name": "umbrella"})  # a category no object uses
    coco["annotations"].append(  # a box that starts beyond the image
        {
            "id": 999,
            "image_id": 1,
            "category_id": 1,
            "bbox": [5000, 10, 20, 20],
            "area": 400,
            "iscrowd": 0,
        }
    )
    ann_file.write_text(json.dumps(coco))
    # The val file lists an image that is a copy of a training image.
    shutil.copy(data / "train/scene_0002.png", data / "val/scene_0003.png")
    # An image whose pixels no longer match the size in its annotation.
    Image.new("RGB", (50, 40)).save(data / "train/scene_0004.png")
    report = check_dataset(data, task="detect")
    found = kinds(report)
    assert found["empty_class"] == ["error"]
    assert "umbrella" in next(p.message for p in report.problems if p.kind == "empty_class")
    assert "leakage" in found and "size_mismatch" in found
    # The box beyond the image: training clips it to nothing and drops it.
    box_errors = [p.kind for p in report.errors if "annotation id 999" in p.message]
    assert box_errors == ["degenerate_box"]
    mismatch = next(p for p in report.problems if p.kind == "size_mismatch")
    assert "is 50x40" in mismatch.message and mismatch.paths == [str(data / "train/scene_0004.png")]
    assert report.summary["splits"]["val"]["images"] == 3
    assert main(["data", "check", str(data), "--task", "detect"]) == 1
    assert "objects per class and split:" in capsys.readouterr().out


def test_planted_segmentation_problems(tmp_path):
    from tests.segment.helpers import blob_mask, write_pair

    data = tmp_path / "seg"
    for i in range(6):
        write_pair(data, f"img{i}", blob_mask(i, size=32, classes=3))
    (data / "classes.txt").write_text("background\ncell\nnucleus\nmembrane\n")
    bad = blob_mask(7, size=32, classes=3)
    bad[0, 0] = 9  # beyond the four classes, and not the ignore index
    write_pair(data, "img_bad", bad)
    write_pair(
        data, "img_small", np.zeros((16, 16), np.uint8), image=np.zeros((32, 32, 3), np.uint8)
    )
    report = check_dataset(data, task="segment")
    bad_masks = sorted(p.message for p in report.problems if p.kind == "bad_mask")
    assert len(bad_masks) == 2
    assert "mask value 9" in bad_masks[0] and "differs from image" in bad_masks[1]
    empty = [p.message for p in report.problems if p.kind == "empty_class"]
    assert empty == ["class 'membrane' (value 3) appears in no mask"]
    pixels = report.summary["pixels_per_class"]
    assert sum(pixels.values()) == 6 * 32 * 32 and pixels["membrane"] == 0


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "missing")]) == 2
    assert "data path not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["data", "check", str(tmp_path), "--task", "classfy"])
    assert e.value.code == 2


def test_planted_instance_mask_problems(tmp_path):
    from transferkit.data.demo.scenes import write_scenes

    data = write_scenes(tmp_path / "scenes", n_train=3, n_val=2, n_test=0)
    assert check_dataset(data, task="instance").errors == []
    ann_file = data / "val/_annotations.coco.json"
    coco = json.loads(ann_file.read_text())
    coco["annotations"][0]["segmentation"] = [[1, 1, 5, 5]]  # a polygon of two points
    del coco["annotations"][1]["segmentation"]
    ann_file.write_text(json.dumps(coco))
    report = check_dataset(data, task="instance")
    assert sorted(p.kind for p in report.errors) == ["bad_segmentation", "no_segmentation"]
    assert all(
        "_annotations.coco.json" in p.message or "scene_" in p.message for p in report.errors
    )

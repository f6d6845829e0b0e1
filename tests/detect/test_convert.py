"""Box conventions against hand-computed values, and COCO -> VOC -> YOLO -> COCO round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transferkit.cli.main import main
from transferkit.core.errors import DatasetError
from transferkit.data.boxes import (
    cxcywh_norm_to_xyxy,
    xywh_to_xyxy,
    xyxy_to_cxcywh_norm,
    xyxy_to_xywh,
)
from transferkit.data.convert import convert_dataset
from transferkit.data.records import read_source

from .helpers import make_image, write_coco


def test_box_conventions_by_hand():
    np.testing.assert_allclose(xywh_to_xyxy([[10, 20, 30, 40]]), [[10, 20, 40, 60]])
    np.testing.assert_allclose(xyxy_to_xywh([[10, 20, 40, 60]]), [[10, 20, 30, 40]])
    # 200 x 100 image, box [50, 25, 150, 75]: centre (100, 50) -> (0.5, 0.5), size 0.5 x 0.5.
    np.testing.assert_allclose(
        xyxy_to_cxcywh_norm([[50, 25, 150, 75]], 200, 100), [[0.5, 0.5, 0.5, 0.5]]
    )
    np.testing.assert_allclose(
        cxcywh_norm_to_xyxy([[0.25, 0.1, 0.1, 0.2]], 200, 100), [[40, 0, 60, 20]]
    )


def _dataset(tmp_path):
    """Two splits, odd sizes, ids not contiguous, a crowd region and an image without objects."""
    cats = [{"id": 4, "name": "apple"}, {"id": 9, "name": "pear"}]
    for split, sizes in (("train", [(70, 50), (33, 61)]), ("valid", [(80, 40), (40, 40)])):
        images, anns = [], []
        for i, (w, h) in enumerate(sizes, start=1):
            make_image(tmp_path / "src" / split / f"{split}{i}.png", w, h, seed=i)
            images.append({"id": i, "file_name": f"{split}{i}.png", "width": w, "height": h})
        anns.append(
            {
                "id": 1,
                "image_id": 1,
                "category_id": 4,
                "bbox": [3, 4, 20, 11],
                "area": 220,
                "iscrowd": 0,
            }
        )
        anns.append(
            {
                "id": 2,
                "image_id": 1,
                "category_id": 9,
                "bbox": [30, 10, 7, 25],
                "area": 175,
                "iscrowd": 0,
            }
        )
        anns.append(
            {
                "id": 3,
                "image_id": 1,
                "category_id": 9,
                "bbox": [40, 30, 10, 9],
                "area": 90,
                "iscrowd": 1,
            }
        )
        write_coco(tmp_path / "src" / split / "_annotations.coco.json", images, anns, cats)
    return tmp_path / "src"


def _boxes(source):
    return {
        split: sorted((r.path.name, o.box, o.label, o.iscrowd) for r in recs for o in r.objects)
        for split, recs in source.splits.items()
    }


def test_round_trip_coco_voc_yolo_coco(tmp_path):
    src = _dataset(tmp_path)
    original = read_source(src)
    convert_dataset(src, tmp_path / "voc", dst_format="voc")
    voc = read_source(tmp_path / "voc")
    assert voc.format == "voc" and voc.class_names == ["apple", "pear"]
    convert_dataset(tmp_path / "voc", tmp_path / "yolo", dst_format="yolo")
    yolo = read_source(tmp_path / "yolo")
    summary = convert_dataset(tmp_path / "yolo", tmp_path / "coco", dst_format="coco")
    back = read_source(tmp_path / "coco")
    assert summary["splits"] == {
        "train": {"images": 2, "objects": 2},
        "val": {"images": 2, "objects": 2},
    }  # YOLO had dropped one
    assert back.class_names == ["apple", "pear"]
    # VOC keeps integer boxes exactly and turns the crowd region into a difficult object.
    want = {s: [(n, b, lab) for n, b, lab, _ in v] for s, v in _boxes(original).items()}
    got_voc = {s: [(n, b, lab) for n, b, lab, _ in v] for s, v in _boxes(voc).items()}
    assert got_voc == want
    # YOLO has no "ignore" region: the crowd (in VOC: difficult) box is left out, as Ultralytics'
    # own VOC conversion does; the other boxes survive to 1e-6 of the image size.
    for split in ("train", "val"):
        kept = [x for x in _boxes(original)[split] if not x[3]]
        got = _boxes(back)[split]
        assert [(n, lab) for n, _, lab, _ in got] == [(n, lab) for n, _, lab, _ in kept]
        for (_, b1, _, _), (_, b2, _, _) in zip(kept, got, strict=True):
            np.testing.assert_allclose(b1, b2, atol=1e-3)
    assert [len(v) for v in yolo.splits.values()] == [2, 2]


def test_coco_keeps_category_ids(tmp_path):
    src = _dataset(tmp_path)
    convert_dataset(src, tmp_path / "coco", dst_format="coco")
    d = json.loads((tmp_path / "coco" / "train" / "_annotations.coco.json").read_text())
    assert [c["id"] for c in d["categories"]] == [4, 9]
    assert [a["bbox"] for a in d["annotations"]][:2] == [[3, 4, 20, 11], [30, 10, 7, 25]]


def test_output_must_be_new_or_empty(tmp_path):
    src = _dataset(tmp_path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    with pytest.raises(DatasetError, match="exists and is not empty"):
        convert_dataset(src, tmp_path / "busy", dst_format="voc")


def test_cli_convert(tmp_path, capsys):
    src = _dataset(tmp_path)
    assert (
        main(["data", "convert", "--from", "coco", "--to", "yolo", str(src), str(tmp_path / "y")])
        == 0
    )
    out = capsys.readouterr().out
    assert "converted coco -> yolo" in out and "(ignore) regions left out" in out
    assert (tmp_path / "y" / "labels" / "val" / "valid1.txt").read_text().splitlines() == [
        # valid1.png is 80 x 40: [3, 4, 23, 15] -> centre (13, 9.5), size 20 x 11.
        "0 0.162500 0.237500 0.250000 0.275000",
        # [30, 10, 37, 35] -> centre (33.5, 22.5), size 7 x 25.
        "1 0.418750 0.562500 0.087500 0.625000",
    ]


def test_cli_unknown_target_format_names_the_registered_ones(tmp_path, capsys):
    from transferkit.cli.main import main

    assert main(["data", "convert", str(tmp_path), str(tmp_path / "out"), "--to", "yolp"]) == 2
    err = capsys.readouterr().err
    assert "unknown target format 'yolp'. Did you mean 'yolo'?" in err
    assert "valid formats: yolo, voc, labelme, coco" in err

"""Readers on COCO, VOC and YOLO files laid out the way common tools export them."""

from __future__ import annotations

import json

import pytest

from transferkit.data.records import assign_splits, detect_format, read_source

from .helpers import make_image, simple_coco, write_coco


def test_coco_single_file(tmp_path):
    simple_coco(tmp_path, n_images=4)
    src = read_source(tmp_path / "instances.json")
    assert src.format == "coco"
    assert src.class_names == ["cat", "dog"] and src.category_ids == [1, 3]
    recs = {r.image_id: r for r in src.splits["all"]}
    assert (recs[2].width, recs[2].height) == (64, 48)
    # COCO [x, y, w, h] = [6, 6, 20, 10] -> XYXY [6, 6, 26, 16]; dog (id 3) -> label 2.
    assert [(o.box, o.label) for o in recs[2].objects] == [
        ((6.0, 6.0, 26.0, 16.0), 1),
        ((30.0, 20.0, 46.0, 36.0), 2),
    ]
    assert src.coco["all"]["categories"][1]["id"] == 3  # raw dict kept for evaluation


def test_coco_roboflow_split_folders(tmp_path):
    # Roboflow: the data set name is category 0 and the supercategory of the real classes.
    cats = [
        {"id": 0, "name": "pets", "supercategory": "none"},
        {"id": 1, "name": "cat", "supercategory": "pets"},
        {"id": 2, "name": "dog", "supercategory": "pets"},
    ]
    for split, n in (("train", 3), ("valid", 2), ("test", 1)):
        images = [
            {"id": i, "file_name": f"{split}_{i}.jpg", "width": 40, "height": 30} for i in range(n)
        ]  # Roboflow numbers images from 0 in every split
        for img in images:
            make_image(tmp_path / split / img["file_name"], 40, 30)
        anns = [
            {
                "id": i,
                "image_id": i,
                "category_id": 1 + i % 2,
                "bbox": [1, 2, 10, 5],
                "area": 50,
                "iscrowd": 0,
                "segmentation": [],
            }
            for i in range(n)
        ]
        write_coco(tmp_path / split / "_annotations.coco.json", images, anns, cats)
    assert detect_format(tmp_path) == "coco"
    src = read_source(tmp_path)
    assert src.class_names == ["cat", "dog"] and src.category_ids == [1, 2]
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 3, "val": 2, "test": 1}
    splits = assign_splits(src, 0.2, 0.0, seed=0)  # the export's own splits win over fractions
    assert [len(splits[s]) for s in ("train", "val", "test")] == [3, 2, 1]


def test_coco_official_layout_and_crowd_segmentation(tmp_path):
    for split in ("train2017", "val2017"):
        make_image(tmp_path / split / "000001.jpg", 50, 40)
        poly = [[2.0, 2.0, 12.0, 2.0, 12.0, 9.0]]
        rle = {"size": [40, 50], "counts": [100, 20, 1880]}
        anns = [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 18,
                "bbox": [2, 2, 10, 7],
                "area": 35.0,
                "iscrowd": 0,
                "segmentation": poly,
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 18,
                "bbox": [20, 2, 20, 20],
                "area": 400.0,
                "iscrowd": 1,
                "segmentation": rle,
            },
        ]
        write_coco(
            tmp_path / "annotations" / f"instances_{split}.json",
            [{"id": 1, "file_name": "000001.jpg", "width": 50, "height": 40}],
            anns,
            [{"id": 18, "name": "dog", "supercategory": "animal"}],
        )
    src = read_source(tmp_path)
    assert set(src.splits) == {"train", "val"}
    objs = src.splits["val"][0].objects
    assert objs[0].segmentation == [[2.0, 2.0, 12.0, 2.0, 12.0, 9.0]] and not objs[0].iscrowd
    assert objs[1].iscrowd and objs[1].segmentation["counts"] == [100, 20, 1880]
    assert objs[0].area == 35.0


def test_seeded_split_of_a_single_file(tmp_path):
    simple_coco(tmp_path, n_images=10)
    src = read_source(tmp_path / "instances.json")
    a = assign_splits(src, 0.2, 0.1, seed=0)
    b = assign_splits(read_source(tmp_path / "instances.json"), 0.2, 0.1, seed=0)
    c = assign_splits(src, 0.2, 0.1, seed=1)
    assert [len(a[s]) for s in ("train", "val", "test")] == [7, 2, 1]
    ids = {s: [r.image_id for r in a[s]] for s in a}
    assert ids == {s: [r.image_id for r in b[s]] for s in b}
    assert ids != {s: [r.image_id for r in c[s]] for s in c}
    assert sorted(sum(ids.values(), [])) == list(range(1, 11))


VOC_XML = """<annotation>
  <folder>JPEGImages</folder>
  <filename>{name}</filename>
  <size><width>60</width><height>40</height><depth>3</depth></size>
  <object><name>car</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>10</ymax></bndbox></object>
  <object><name>person</name><difficult>1</difficult>
    <bndbox><xmin>30.5</xmin><ymin>5</ymin><xmax>50</xmax><ymax>39</ymax></bndbox></object>
</annotation>
"""


def _voc(root, stems, splits=None, labelmap=True):
    for stem in stems:
        make_image(root / "JPEGImages" / f"{stem}.jpg", 60, 40)
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{stem}.xml").write_text(VOC_XML.format(name=f"{stem}.jpg"))
    if splits:
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        for split, ids in splits.items():
            (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    if labelmap:  # CVAT's VOC export
        (root / "labelmap.txt").write_text(
            "# label:color_rgb:parts:actions\nbackground:0,0,0::\nperson:250,50,83::\n"
            "car:51,221,255::\n"
        )


def test_voc_cvat_export(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    _voc(root, ["a", "b", "c"], {"train": ["a", "b"], "val": ["c"]})
    assert detect_format(tmp_path) == "voc"
    src = read_source(tmp_path)
    assert src.class_names == ["person", "car"]  # labelmap order, background dropped
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 2, "val": 1}
    car, person = src.splits["val"][0].objects
    assert car.box == (0.0, 0.0, 20.0, 10.0) and car.label == 2  # 1-based inclusive -> edges
    assert person.box == (29.5, 4.0, 50.0, 39.0) and person.difficult


def test_voc_without_imagesets_uses_sorted_names(tmp_path):
    _voc(tmp_path, ["x", "y"], labelmap=False)
    src = read_source(tmp_path, "voc")
    assert src.class_names == ["car", "person"] and list(src.splits) == ["all"]


def _yolo_image(root, split, stem, lines):
    make_image(root / "images" / split / f"{stem}.jpg", 100, 50)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))


def test_yolo_ultralytics_yaml(tmp_path):
    _yolo_image(tmp_path, "train", "a", ["0 0.5 0.5 0.2 0.4", "1 0.1 0.2 0.1 0.2 0.3 0.2 0.2 0.6"])
    _yolo_image(tmp_path, "val", "b", [])
    make_image(tmp_path / "images" / "val" / "no_label.jpg", 100, 50)  # background image
    (tmp_path / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames:\n  0: boat\n  1: buoy\n"
    )
    assert detect_format(tmp_path) == "yolo"
    src = read_source(tmp_path / "data.yaml")
    assert src.class_names == ["boat", "buoy"]
    boat, buoy = src.splits["train"][0].objects
    assert boat.box == pytest.approx((40.0, 15.0, 60.0, 35.0)) and boat.label == 1
    # Polygon (0.1,0.2) (0.3,0.2) (0.2,0.6) on 100x50 -> its box [10, 10, 30, 30].
    assert buoy.box == pytest.approx((10.0, 10.0, 30.0, 30.0)) and buoy.label == 2
    assert sorted(len(r.objects) for r in src.splits["val"]) == [0, 0]


def test_yolo_roboflow_export(tmp_path):
    for split in ("train", "valid"):
        make_image(tmp_path / split / "images" / "p.jpg", 100, 50)
        (tmp_path / split / "labels").mkdir(parents=True)
        (tmp_path / split / "labels" / "p.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\n\nnc: 1\nnames: ['fish']\n"
    )
    src = read_source(tmp_path)
    assert {k: len(v) for k, v in src.splits.items()} == {"train": 1, "val": 1}
    assert src.splits["val"][0].objects[0].box == pytest.approx((25.0, 12.5, 75.0, 37.5))


def test_yolo_folder_with_classes_txt(tmp_path):
    _yolo_image(tmp_path, "", "a", ["0 0.5 0.5 1.0 1.0"])
    (tmp_path / "classes.txt").write_text("widget\n")
    src = read_source(tmp_path)
    assert src.class_names == ["widget"] and list(src.splits) == ["all"]
    assert src.splits["all"][0].objects[0].box == pytest.approx((0, 0, 100, 50))


def test_format_detection_by_path(tmp_path):
    simple_coco(tmp_path / "c")
    assert detect_format(tmp_path / "c" / "instances.json") == "coco"
    (tmp_path / "d.yaml").write_text("train: x\n")
    assert detect_format(tmp_path / "d.yaml") == "yolo"
    (tmp_path / "e").mkdir()
    with pytest.raises(ValueError, match="no COCO JSON, VOC"):
        detect_format(tmp_path / "e")


def test_labelimg_flat_folder_with_unloaded_size(tmp_path):
    # LabelImg writes the XML beside the image, and 0 x 0 when it never loaded the image.
    make_image(tmp_path / "shot.jpg", 60, 40)
    (tmp_path / "shot.xml").write_text(
        VOC_XML.format(name="shot.jpg").replace(
            "<width>60</width><height>40</height>", "<width>0</width><height>0</height>"
        )
    )
    assert detect_format(tmp_path) == "voc"
    rec = read_source(tmp_path).splits["all"][0]
    assert (rec.width, rec.height) == (60, 40) and len(rec.objects) == 2


def test_cvat_darknet_export(tmp_path):
    (tmp_path / "obj_train_data").mkdir()
    make_image(tmp_path / "obj_train_data" / "f0.jpg", 100, 50)
    (tmp_path / "obj_train_data" / "f0.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    (tmp_path / "obj.names").write_text("car\nbike\n")
    (tmp_path / "train.txt").write_text("data/obj_train_data/f0.jpg\n")
    (tmp_path / "obj.data").write_text(
        "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    )
    src = read_source(tmp_path)
    assert src.format == "yolo" and src.class_names == ["car", "bike"]
    (obj,) = src.splits["train"][0].objects
    assert obj.label == 2 and obj.box == pytest.approx((40, 20, 60, 30))


def test_coco_file_name_with_foreign_folders(tmp_path):
    # Label Studio writes the path the image had on the labelling machine.
    path = simple_coco(tmp_path, n_images=1)
    d = json.loads(path.read_text())
    d["images"][0]["file_name"] = "..\\upload\\7\\img1.png"
    path.write_text(json.dumps(d))
    assert read_source(path).splits["all"][0].path == tmp_path / "img1.png"

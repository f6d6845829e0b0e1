"""Semantic data: layouts, classes files, checks (size, values, missing masks), splits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.segment.helpers import blob_mask, write_pair
from transferkit.core.errors import DatasetError
from transferkit.data.datasets.segmentation import (
    collate_segmentation,
    load_semantic_data,
)
from transferkit.data.masks import mask_to_rle
from transferkit.data.transforms.segment import (
    segmentation_eval_transform,
    segmentation_train_transform,
)
from transferkit.zoo.backbone import DataConfig

DC = DataConfig(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), input_size=(3, 32, 32))


def test_flat_folder_split_by_seed_and_classes_numbered(tmp_path):
    for i in range(6):
        write_pair(tmp_path, f"im{i}", blob_mask(i))
    d = load_semantic_data(tmp_path, val_fraction=0.34, seed=1)
    assert d.class_names == ["class_0", "class_1", "class_2"]
    assert (len(d.train), len(d.val), d.test) == (4, 2, None)
    again = load_semantic_data(tmp_path, val_fraction=0.34, seed=1)
    assert [s.stem for s in again.val.samples] == [s.stem for s in d.val.samples]
    image, mask = d.val[0]
    assert image.shape == (3, 32, 32) and mask.dtype == torch.long
    expected = blob_mask(int(d.val.samples[0].stem[2:]))
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert d.summary["format"] == "folder" and d.summary["images"] == {
        "train": 4,
        "val": 2,
        "test": 0,
    }


def test_split_folders_with_classes_file_and_value_checks(tmp_path):
    for split, n in (("train", 3), ("val", 2)):
        for i in range(n):
            write_pair(tmp_path / split, f"{split}{i}", blob_mask(i))
    (tmp_path / "classes.txt").write_text("background\ncat\ndog\n")
    d = load_semantic_data(tmp_path)
    assert d.class_names == ["background", "cat", "dog"] and (len(d.train), len(d.val)) == (3, 2)
    bad = blob_mask(9)
    bad[0, 0] = 3  # beyond three classes, and not the ignore index
    bad[1, 1] = 255
    write_pair(tmp_path / "train", "bad", bad)
    with pytest.raises(
        DatasetError, match=r"bad.jpg: mask value 3 is beyond the 3 classes of classes.txt"
    ):
        load_semantic_data(tmp_path)
    d = load_semantic_data(tmp_path, on_bad_image="skip")
    assert d.summary["skipped"] == 1 and len(d.train) == 3
    # With ignore_index 3 the same value is allowed (and 255 becomes a bad value instead).
    with pytest.raises(DatasetError, match="mask value 255 is beyond"):
        load_semantic_data(tmp_path, ignore_index=3)


def test_missing_mask_and_size_mismatch_name_the_file(tmp_path):
    for i in range(3):
        write_pair(tmp_path, f"ok{i}", blob_mask(i))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "images" / "lonely.jpg")
    with pytest.raises(DatasetError, match=r"lonely.jpg: mask file not found"):
        load_semantic_data(tmp_path)
    (tmp_path / "images" / "lonely.jpg").unlink()
    write_pair(tmp_path, "odd", np.zeros((20, 32), np.uint8), image=np.zeros((32, 32, 3)))
    with pytest.raises(DatasetError, match=r"mask 32x20 differs from image 32x32"):
        load_semantic_data(tmp_path)
    d = load_semantic_data(tmp_path, on_bad_image="skip", val_fraction=0.34)
    assert d.summary["skipped"] == 1 and "odd.jpg" in d.summary["skipped_files"][0]


def test_rgb_masks_need_a_classes_file_with_colours(tmp_path):
    colors = {0: (0, 0, 0), 1: (250, 50, 83), 2: (51, 221, 255)}
    for i in range(4):
        m = blob_mask(i)
        rgb = np.zeros((*m.shape, 3), np.uint8)
        for v, c in colors.items():
            rgb[m == v] = c
        write_pair(tmp_path, f"im{i}", rgb)
    with pytest.raises(DatasetError, match="RGB mask .* no palette and no class colours"):
        load_semantic_data(tmp_path)
    (tmp_path / "classes.txt").write_text("background 0 0 0\nroad, 250, 50, 83\nsky 51 221 255\n")
    d = load_semantic_data(tmp_path, val_fraction=0.25)
    assert d.class_names == ["background", "road", "sky"]
    sample = d.train.samples[0]
    np.testing.assert_array_equal(d.train[0][1].numpy(), blob_mask(int(sample.stem[2:])))


def test_voc_layout_with_image_sets_palette_masks_and_boundary_ignore(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    stems = [f"2007_{i:06d}" for i in range(5)]
    for i, stem in enumerate(stems):
        m = blob_mask(i)
        m[0, :] = 255  # VOC marks object boundaries with 255
        write_pair(
            root, stem, np.zeros_like(m), image_dir="JPEGImages", mask_dir="SegmentationClass"
        )
        pal = Image.fromarray(m, mode="P")
        pal.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (252 * 3) + [224, 224, 192])
        pal.save(root / "SegmentationClass" / f"{stem}.png")
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("\n".join(stems[:3]) + "\n")
    (sets / "val.txt").write_text("\n".join(stems[3:]) + "\n")
    (root / "labelmap.txt").write_text(
        "# label:color_rgb:parts:actions\nbackground:0,0,0::\nplane:128,0,0::\nbike:0,128,0::\n"
    )
    d = load_semantic_data(tmp_path)
    assert d.summary["format"] == "voc" and d.class_names == ["background", "plane", "bike"]
    assert [s.stem for s in d.val.samples] == stems[3:]
    assert d.summary["ignored_pixels"] == 5 * 32
    assert (d.val[0][1][0] == 255).all()


def test_roboflow_export_with_side_by_side_masks_and_classes_csv(tmp_path):
    for split, n in (("train", 2), ("valid", 1)):
        for i in range(n):
            write_pair(
                tmp_path / split,
                f"a{i}_jpg.rf",
                blob_mask(i),
                image_dir="",
                mask_dir="",
                mask_name=f"a{i}_jpg.rf_mask.png",
            )
        (tmp_path / split / "_classes.csv").write_text("Pixel Value, Class\n0, bg\n1, a\n2, b\n")
    d = load_semantic_data(tmp_path)
    assert d.class_names == ["bg", "a", "b"] and (len(d.train), len(d.val)) == (2, 1)


def _coco(tmp_path, segs):
    (tmp_path / "images").mkdir()
    images, anns = [], []
    for i, seg in enumerate(segs, start=1):
        Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(tmp_path / "images" / f"{i}.jpg")
        images.append({"id": i, "file_name": f"{i}.jpg", "width": 32, "height": 24})
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 7,
                "bbox": [2, 2, 8, 8],
                "segmentation": seg,
                "area": 64,
                "iscrowd": 0,
            }
        )
    data = {"images": images, "annotations": anns, "categories": [{"id": 7, "name": "cell"}]}
    (tmp_path / "ann.json").write_text(json.dumps(data))
    return tmp_path / "ann.json"


def test_coco_polygons_and_rle_become_class_masks(tmp_path):
    square = np.zeros((24, 32), np.uint8)
    square[2:10, 2:10] = 1
    path = _coco(
        tmp_path, [[[2, 2, 10, 2, 10, 10, 2, 10]], mask_to_rle(square), [[2, 2, 10, 2, 10, 10]]]
    )
    d = load_semantic_data(path, val_fraction=0.34)
    assert d.class_names == ["background", "cell"]
    for ds in (d.train, d.val):
        for k in range(len(ds)):
            mask = ds[k][1].numpy()
            if ds.samples[k].stem != "3":  # the triangle covers part of the square
                np.testing.assert_array_equal(mask, square)


@pytest.mark.parametrize(
    ("seg", "message"),
    [
        ([[2, 2, 10, 2]], "polygon with 2 points"),
        ({"size": [20, 32], "counts": "abc"}, r"RLE size \[20, 32\].*\[24, 32\]"),
    ],
)
def test_coco_bad_shapes_fail_or_are_skipped(tmp_path, seg, message):
    ok = [[2, 2, 10, 2, 10, 10, 2, 10]]
    path = _coco(tmp_path, [ok, ok, ok, seg])
    with pytest.raises(DatasetError, match=message):
        load_semantic_data(path)
    assert load_semantic_data(path, on_bad_image="skip").summary["skipped"] == 1


def test_train_transform_never_invents_mask_values_and_pads_with_ignore():
    torch.manual_seed(0)
    from torchvision import tv_tensors

    mask = torch.from_numpy(blob_mask(3, size=40).astype(np.int64))
    image = torch.randint(0, 255, (3, 40, 40), dtype=torch.uint8)
    t = segmentation_train_transform(DC, img_size=48, ignore_index=255)
    for _ in range(5):
        img, m = t(tv_tensors.Image(image), tv_tensors.Mask(mask))
        assert img.shape == (3, 48, 48) and img.dtype == torch.float32 and m.shape == (48, 48)
        assert set(m.unique().tolist()) <= {0, 1, 2, 255}
    img, m = segmentation_eval_transform(DC)(tv_tensors.Image(image), tv_tensors.Mask(mask))
    assert torch.equal(m, mask) and img.shape == (3, 40, 40)


def test_collate_pads_images_with_zero_and_masks_with_ignore():
    a = (torch.ones(3, 4, 5), torch.zeros(4, 5, dtype=torch.long))
    b = (torch.ones(3, 6, 3), torch.ones(6, 3, dtype=torch.long))
    images, masks = collate_segmentation([a, b], ignore_index=9)
    assert images.shape == (2, 3, 6, 5) and masks.shape == (2, 6, 5)
    assert (
        images[0, :, 4:].abs().sum() == 0
        and (masks[0, 4:] == 9).all()
        and (masks[1, :, 3:] == 9).all()
    )
    assert (masks[1, :, :3] == 1).all()


@pytest.mark.parametrize(("images", "masks"), [("images", "annotations"), ("img_dir", "ann_dir")])
def test_split_inside_image_and_mask_folders_as_ade20k_and_mmseg(tmp_path, images, masks):
    for split, n in (("training", 3), ("validation", 2)):
        for i in range(n):
            write_pair(
                tmp_path,
                f"{split}{i}",
                blob_mask(i),
                image_dir=f"{images}/{split}",
                mask_dir=f"{masks}/{split}",
            )
    d = load_semantic_data(tmp_path)
    assert (len(d.train), len(d.val)) == (3, 2)
    assert all(s.stem.startswith("validation") for s in d.val.samples)


def test_binary_masks_saved_as_0_and_255_read_as_foreground_not_ignore(tmp_path):
    for i in range(4):
        write_pair(tmp_path, f"im{i}", (blob_mask(i, classes=2) * 255).astype(np.uint8))
    d = load_semantic_data(tmp_path, val_fraction=0.25)
    assert d.class_names == ["background", "foreground"] and "binary_masks" in d.summary
    mask = d.train[0][1].numpy()
    np.testing.assert_array_equal(mask, blob_mask(int(d.train.samples[0].stem[2:]), classes=2))
    # Another tool's binary predictions, stored the same way, score against them.
    from transferkit.tasks.segment.predict import evaluate_predictions

    (tmp_path / "preds").mkdir()
    for i in range(4):
        Image.fromarray((blob_mask(i, classes=2) * 255).astype(np.uint8)).save(
            tmp_path / "preds" / f"im{i}.png"
        )
    assert evaluate_predictions(tmp_path, tmp_path / "preds", {})["miou"] == 1.0
    # A classes file keeps 255 as the ignore index it is by default.
    (tmp_path / "classes.txt").write_text("background\nforeground\n")
    d = load_semantic_data(tmp_path, val_fraction=0.25)
    assert "binary_masks" not in d.summary and d.summary["ignored_pixels"] > 0

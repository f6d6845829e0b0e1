"""load_classification_data: folder and CSV layouts, bad images, ignored files, every error case."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.transforms.classify import eval_transform, train_transform
from transferkit.zoo.backbone import DataConfig

CFG = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, input_size=(3, 32, 32))


def write_image(path, value=100, size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value, value)).save(path)
    return path


def make_folder(root, counts: dict[str, int], ext=".png"):
    for c, n in counts.items():
        for i in range(n):
            write_image(root / c / f"{c}_{i:02d}{ext}", value=10 * i)
    return root


def labels_of(dataset):
    return [dataset.class_names[label] for _, label in dataset.samples]


def test_single_root_is_split_stratified_and_seeded(tmp_path):
    root = make_folder(tmp_path / "d", {"cat": 10, "dog": 20, "ant": 5})
    s = load_classification_data(root, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert s.class_names == ["ant", "cat", "dog"]
    assert json.loads(json.dumps(s.summary)) == s.summary  # goes into the run record as is
    assert s.summary["counts"] == {
        "train": {"ant": 3, "cat": 6, "dog": 12},
        "val": {"ant": 1, "cat": 2, "dog": 4},
        "test": {"ant": 1, "cat": 2, "dog": 4},
    }
    again = load_classification_data(root, val_fraction=0.2, test_fraction=0.2, seed=1)
    other = load_classification_data(root, val_fraction=0.2, test_fraction=0.2, seed=2)
    assert again.val.samples == s.val.samples
    assert other.val.samples != s.val.samples
    paths = [p for ds in (s.train, s.val, s.test) for p, _ in ds.samples]
    assert len(paths) == len(set(paths)) == 35
    for ds in (s.train, s.val, s.test):  # each sample's label is its folder's class
        names = labels_of(ds)
        assert all(f"/{name}/" in p for (p, _), name in zip(ds.samples, names, strict=True))


def test_defaults_and_items(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 5, "b": 5})
    s = load_classification_data(
        root, train_transform=train_transform(CFG), eval_transform=eval_transform(CFG)
    )
    assert s.test is None and len(s.train) == 8 and len(s.val) == 2
    x, y = s.val[0]
    path, label = s.val.samples[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and y == label
    value = int(path.split("_")[-1][:2]) * 10  # the grey level the image was written with
    torch.testing.assert_close(x, torch.full_like(x, (value / 255 - 0.5) / 0.5), atol=1e-5, rtol=0)
    assert s.train.class_names == s.class_names == ["a", "b"]
    assert s.train.targets == [label for _, label in s.train.samples]
    raw, _ = load_classification_data(root).val[0]  # no transform: [0, 1] floats
    assert raw.shape == (3, 16, 20) and 0 <= raw.min() <= raw.max() <= 1


def test_split_folders_with_valid_alias(tmp_path):
    make_folder(tmp_path / "d" / "train", {"a": 4, "b": 3})
    make_folder(tmp_path / "d" / "valid", {"a": 2, "b": 1})
    make_folder(tmp_path / "d" / "test", {"a": 1, "b": 2})
    s = load_classification_data(tmp_path / "d", val_fraction=0.5)  # fraction unused: val given
    assert s.summary["layout"] == "split"
    assert s.summary["split_from"] == {"train": "data", "val": "data", "test": "data"}
    assert s.summary["totals"] == {"train": 7, "val": 3, "test": 3}
    assert all("/valid/" in p for p, _ in s.val.samples)


def test_split_folders_without_val_carve_it_from_train(tmp_path):
    make_folder(tmp_path / "d" / "train", {"a": 10, "b": 10})
    make_folder(tmp_path / "d" / "test", {"a": 2, "b": 2})
    s = load_classification_data(tmp_path / "d", val_fraction=0.2)
    assert s.summary["split_from"] == {"train": "data", "val": "carved", "test": "data"}
    assert s.summary["totals"] == {"train": 16, "val": 4, "test": 4}
    assert all("/train/" in p for p, _ in s.val.samples)


def test_stray_folder_next_to_split_folders_is_an_error(tmp_path):
    make_folder(tmp_path / "d" / "train", {"a": 2, "b": 2})
    make_folder(tmp_path / "d" / "val", {"a": 1, "b": 1})
    make_folder(tmp_path / "d" / "old", {"a": 1})
    with pytest.raises(DatasetError, match=r"split folders \(train, val\) and also old"):
        load_classification_data(tmp_path / "d")


def test_csv_with_and_without_split_column(tmp_path):
    for i in range(6):
        write_image(tmp_path / "img" / f"{i}.png", value=i)
    rows = ["a,train", "b,train", "a,train", "b,train", "a,validation", "b,test"]
    text = "path,label,split\n" + "".join(f"img/{i}.png,{r}\n" for i, r in enumerate(rows))
    (tmp_path / "labels.csv").write_text(text)
    s = load_classification_data(tmp_path / "labels.csv")
    assert s.summary["format"] == "csv"
    assert s.summary["counts"] == {"train": {"a": 2, "b": 2}, "val": {"a": 1}, "test": {"b": 1}}
    assert s.val.samples == [(str(tmp_path / "img" / "4.png"), 0)]
    assert load_classification_data(tmp_path).summary["format"] == "csv"  # found by auto

    plain = "path,label\n" + "".join(f"img/{i}.png,{'ab'[i % 2]}\n" for i in range(6))
    (tmp_path / "labels.csv").write_text(plain)
    s = load_classification_data(tmp_path / "labels.csv", val_fraction=0.34)
    assert s.summary["counts"]["val"] == {"a": 1, "b": 1}


def test_csv_errors_name_file_and_line(tmp_path):
    write_image(tmp_path / "x.png")
    write_image(tmp_path / "y.png")
    csv = tmp_path / "l.csv"
    csv.write_text("file,label\nx.png,a\n")
    with pytest.raises(DatasetError, match=r"l\.csv: the header lacks the column\(s\) path"):
        load_classification_data(csv)
    csv.write_text("path,label\nx.png,a\ny.png,b\nnope.png,b\n")
    with pytest.raises(DatasetError, match=r"l\.csv:4: nope\.png"):
        load_classification_data(csv)
    csv.write_text("path,label,split\nx.png,a,train\ny.png,b,train\nx.png,a,val\n")
    with pytest.raises(DatasetError, match=r"l\.csv:4: x\.png is listed a second time .*l\.csv:2"):
        load_classification_data(csv)
    csv.write_text("path,label,split\nx.png,a,train\ny.png,b,tset\n")
    with pytest.raises(DatasetError, match=r"l\.csv:3: unknown split 'tset'.*Did you mean 'test'"):
        load_classification_data(csv)


def test_bad_images_fail_or_skip(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 6, "b": 6}, ext=".jpg")
    data = (root / "a" / "a_00.jpg").read_bytes()
    (root / "a" / "a_01.jpg").write_bytes(b"")
    (root / "b" / "b_02.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as err:
        load_classification_data(root)
    msg = str(err.value)
    assert msg.startswith("2 unreadable image(s)")
    assert "a_01.jpg" in msg and "b_02.jpg" in msg and "--on-bad-image skip" in msg
    s = load_classification_data(root, on_bad_image="skip")
    assert s.summary["skipped"] == 2
    assert {f["path"] for f in s.summary["skipped_files"]} == {
        str(root / "a" / "a_01.jpg"),
        str(root / "b" / "b_02.jpg"),
    }
    kept = [p for ds in (s.train, s.val) for p, _ in ds.samples]
    assert len(kept) == 10 and not any(p.endswith(("a_01.jpg", "b_02.jpg")) for p in kept)
    with pytest.raises(ConfigError, match="Did you mean 'skip'"):
        load_classification_data(root, on_bad_image="skp")


def test_many_bad_images_are_listed_then_counted(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 3})
    for i in range(8):
        (root / "a" / f"bad{i}.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"8 unreadable image\(s\).*; and 3 more"):
        load_classification_data(root)


def test_non_image_files_are_ignored_and_counted(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "a" / "notes.txt").write_text("x")
    (root / "b" / ".DS_Store").write_bytes(b"\0")
    (root / "README.md").write_text("x")
    (root / ".ipynb_checkpoints").mkdir()
    s = load_classification_data(root)
    assert s.class_names == ["a", "b"]
    assert s.summary["ignored_files"] == 3
    assert str(root / "a" / "notes.txt") in s.summary["ignored_examples"]
    assert s.summary["ignored_dirs"] == [str(root / ".ipynb_checkpoints")]


def test_summary_image_sizes_use_upright_sizes(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    write_image(root / "a" / "big.png", size=(50, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (60, 10)).save(root / "b" / "rot.jpg", exif=exif)  # upright: 10 x 60
    sizes = load_classification_data(root).summary["image_size"]
    assert sizes == {"min_width": 10, "max_width": 50, "min_height": 16, "max_height": 60}


def test_numeric_class_names_sort_by_value(tmp_path):
    root = make_folder(tmp_path / "d", {"2": 2, "10": 2, "1": 2})
    assert load_classification_data(root).class_names == ["1", "2", "10"]


def test_progress_reports_every_image(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 4})
    calls = []
    load_classification_data(root, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (7, 7) and len(calls) == 7


def test_missing_path_and_format_errors(tmp_path):
    with pytest.raises(DatasetError, match="data path does not exist"):
        load_classification_data(tmp_path / "nope")
    with pytest.raises(ConfigError, match="Did you mean 'folder'"):
        load_classification_data(tmp_path, format="foldr")
    (tmp_path / "l.csv").write_text("path,label\n")
    with pytest.raises(DatasetError, match="needs a folder"):
        load_classification_data(tmp_path / "l.csv", format="folder")


def test_empty_class_folder(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "c").mkdir()
    (root / "c" / "x.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"empty class folder .*/c: .*1 non-image file"):
        load_classification_data(root)


def test_single_class(tmp_path):
    with pytest.raises(DatasetError, match="at least 2 classes.*only the class 'a'"):
        load_classification_data(make_folder(tmp_path / "d", {"a": 5}))


def test_val_class_missing_from_train(tmp_path):
    make_folder(tmp_path / "d" / "train", {"a": 3, "b": 3})
    make_folder(tmp_path / "d" / "val", {"a": 1, "b": 1, "zebra": 1})
    with pytest.raises(DatasetError, match=r"val split .* the train split lacks: 'zebra'"):
        load_classification_data(tmp_path / "d")


def test_class_with_only_unreadable_images_is_an_error_even_when_skipping(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 3})
    (root / "c").mkdir()
    (root / "c" / "x.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="'c' .* no readable training image"):
        load_classification_data(root, on_bad_image="skip")


def test_too_few_images_for_a_val_split(tmp_path):
    root = make_folder(tmp_path / "d", {"a": 1, "b": 1})
    with pytest.raises(DatasetError, match="too few images"):
        load_classification_data(root)
    with pytest.raises(ConfigError, match="val_fraction is 0"):
        load_classification_data(root, val_fraction=0.0)


def test_arrays_are_images_not_noise(tmp_path):
    """A real 16-bit file in the tree is read scaled, through the same reader."""
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    Image.fromarray(np.full((8, 8), 257 * 200, np.uint16)).save(root / "a" / "deep.png")
    s = load_classification_data(root, val_fraction=0.3, seed=0)
    for ds in (s.train, s.val):
        for i, (p, _) in enumerate(ds.samples):
            if p.endswith("deep.png"):
                x, _ = ds[i]
                torch.testing.assert_close(x, torch.full((3, 8, 8), 200 / 255))
                return
    raise AssertionError("deep.png not loaded")

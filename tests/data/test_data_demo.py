"""The packaged Fashion-MNIST subset: contents, materialisation, rebuild from the IDX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.demo.fashion import (
    FASHION_MNIST_CLASSES,
    LICENCE_NAME,
    STORED_PER_CLASS,
    build_fashion_mnist_npz,
    class_folder_name,
    demo_file,
    load_subset,
    materialize_fashion_mnist,
    read_idx,
)

IDX_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion-mnist"
needs_idx = pytest.mark.skipif(not IDX_DIR.is_dir(), reason="Fashion-MNIST IDX files not present")


def test_stored_subset_is_balanced_and_small():
    d = load_subset()
    assert demo_file(LICENCE_NAME).read_text().count("Zalando SE") >= 1
    assert demo_file("fashion_mnist_subset.npz").stat().st_size < 2_000_000
    assert d["images"].shape == (1450, 28, 28) and d["images"].dtype == np.uint8
    assert tuple(d["class_names"]) == FASHION_MNIST_CLASSES
    for code, split in enumerate(("train", "val", "test")):
        per_label = np.bincount(d["labels"][d["split"] == code], minlength=10)
        assert per_label.tolist() == [STORED_PER_CLASS[split]] * 10
    train_like = d["split"] < 2  # train and val both come from the original training set
    assert len(set(d["source_index"][train_like].tolist())) == int(train_like.sum())


def test_materialize_counts_per_class(tmp_path):
    dest = materialize_fashion_mnist(tmp_path / "fm", {"train": 3, "val": 2, "test": 1})
    assert (dest / LICENCE_NAME).is_file()
    for split, n in (("train", 3), ("val", 2), ("test", 1)):
        folders = sorted(p.name for p in (dest / split).iterdir())
        assert folders == sorted(class_folder_name(c) for c in FASHION_MNIST_CLASSES)
        for f in folders:
            assert len(list((dest / split / f).glob("*.png"))) == n
    with Image.open(next((dest / "test" / "Bag").glob("*.png"))) as im:
        assert im.size == (28, 28) and im.mode == "L"
    s = load_classification_data(dest)
    assert len(s.class_names) == 10 and "T-shirt-top" in s.class_names
    assert s.summary["totals"] == {"train": 30, "val": 20, "test": 10}


def test_materialize_reuses_its_own_output_and_refuses_other_folders(tmp_path):
    sizes = {"train": 1, "val": 1}
    dest = materialize_fashion_mnist(tmp_path / "fm", sizes)
    stamp = next((dest / "train" / "Coat").glob("*.png")).stat().st_mtime_ns
    assert materialize_fashion_mnist(dest, sizes) == dest
    assert next((dest / "train" / "Coat").glob("*.png")).stat().st_mtime_ns == stamp
    with pytest.raises(DatasetError, match="not an empty folder"):
        materialize_fashion_mnist(dest, {"train": 2, "val": 1})
    with pytest.raises(ConfigError, match="from 1 to 80"):
        materialize_fashion_mnist(tmp_path / "x", {"train": 81, "val": 1})
    with pytest.raises(ConfigError, match="unknown split 'valid'"):
        materialize_fashion_mnist(tmp_path / "x", {"train": 1, "valid": 1})
    assert not (tmp_path / "x").exists()


@needs_idx
def test_stored_images_are_the_original_ones_and_rebuild_is_exact(tmp_path):
    d = load_subset()
    test_images = read_idx(IDX_DIR / "t10k-images-idx3-ubyte.gz")
    test_labels = read_idx(IDX_DIR / "t10k-labels-idx1-ubyte.gz")
    in_test = d["split"] == 2
    idx = d["source_index"][in_test]
    assert np.array_equal(test_images[idx], d["images"][in_test])
    assert np.array_equal(test_labels[idx], d["labels"][in_test])
    rebuilt = load_subset(build_fashion_mnist_npz(IDX_DIR, tmp_path / "re.npz"))
    for key, value in d.items():
        assert np.array_equal(rebuilt[key], value), key

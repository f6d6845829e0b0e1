"""Split membership pinned per reader and task: which file lands in train, val and test, in order.

The expected digests were recorded on the code before the carving of splits was unified; a change
here means that runs on the same data and seed would train and validate on other images.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.detect.helpers import make_image, simple_coco, write_coco
from tests.segment.helpers import blob_mask, write_pair
from transferkit.data.check import dataset as check_module
from transferkit.data.check.dataset import check_dataset
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.datasets.instance import check_records
from transferkit.data.datasets.segmentation import load_semantic_data
from transferkit.data.records import assign_splits, read_source


def digest(splits: dict[str, list[str]]) -> dict[str, str]:
    """Per split: its size and a short hash of its files in order."""
    return {
        name: f"{len(files)}:{hashlib.sha1(json.dumps(files).encode()).hexdigest()[:12]}"
        for name, files in splits.items()
    }


def rel(root: Path, paths) -> list[str]:
    return [Path(p).relative_to(root).as_posix() for p in paths]


# --- data sets -------------------------------------------------------------------------------


def class_folder(root: Path, counts: dict[str, int]) -> Path:
    for c, n in counts.items():
        for i in range(n):
            (root / c).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (10 * i, 3 * n, 7)).save(root / c / f"{c}_{i:02d}.png")
    return root


def voc_train_only(root: Path, n: int) -> Path:
    xml = (
        "<annotation><filename>{s}.jpg</filename><size><width>20</width><height>10</height>"
        "<depth>3</depth></size><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
        "<xmax>9</xmax><ymax>8</ymax></bndbox></object></annotation>"
    )
    stems = [f"v{i:02d}" for i in range(n)]
    (root / "Annotations").mkdir(parents=True)
    for s in stems:
        make_image(root / "JPEGImages" / f"{s}.jpg", 20, 10)
        (root / "Annotations" / f"{s}.xml").write_text(xml.format(s=s))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("\n".join(stems) + "\n")
    return root


def yolo_flat(root: Path, n: int) -> Path:
    for i in range(n):
        make_image(root / "images" / f"y{i:02d}.jpg", 20, 10)
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"y{i:02d}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "classes.txt").write_text("widget\n")
    return root


def coco_polygons(root: Path, n: int) -> Path:
    images, anns = [], []
    for i in range(1, n + 1):
        make_image(root / f"p{i:02d}.png", 32, 24, seed=i)
        images.append({"id": i, "file_name": f"p{i:02d}.png", "width": 32, "height": 24})
        poly = [2.0, 2.0, 20.0, 2.0, 20.0, 15.0, 2.0, 15.0]
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "bbox": [2, 2, 18, 13],
                "area": 234,
                "iscrowd": 0,
                "segmentation": [poly],
            }
        )
    return write_coco(root / "instances.json", images, anns, [{"id": 1, "name": "cell"}])


def semantic_flat(root: Path, n: int) -> Path:
    for i in range(n):
        write_pair(root, f"m{i:02d}", blob_mask(i, size=16))
    return root


def semantic_train_only(root: Path, n: int) -> Path:
    for i in range(n):
        write_pair(root / "train", f"t{i:02d}", blob_mask(i, size=16))
    return root


# --- readers ---------------------------------------------------------------------------------


def classification_splits(root: Path, **kw) -> dict[str, list[str]]:
    d = load_classification_data(root, **kw)
    parts = {"train": d.train, "val": d.val, "test": d.test}
    return {k: rel(root, [p for p, _ in ds.samples]) for k, ds in parts.items() if ds is not None}


def record_splits(root: Path, path: Path, val, test, seed, instance=False) -> dict[str, list[str]]:
    source = read_source(path)
    if instance:
        for records in source.splits.values():
            check_records(records, source.issues)
    splits = assign_splits(source, val, test, seed)
    return {k: rel(root, [r.path for r in v]) for k, v in splits.items()}


def semantic_splits(root: Path, **kw) -> dict[str, list[str]]:
    d = load_semantic_data(root, **kw)
    parts = {"train": d.train, "val": d.val, "test": d.test}
    return {k: rel(root, [s.image for s in ds.samples]) for k, ds in parts.items() if ds}


def check_splits(monkeypatch, root: Path, path: Path, task: str, **kw) -> dict[str, list[str]]:
    """The (path, split) rows ``data check`` hashes and compares, grouped by split."""
    seen: list = []
    real = check_module.add_file_findings

    def spy(report, images, infos):
        seen.extend(images)
        return real(report, images, infos)

    monkeypatch.setattr(check_module, "add_file_findings", spy)
    check_dataset(path, task=task, **kw)
    out: dict[str, list[str]] = {}
    for p, split, _ in seen:
        out.setdefault(split, []).append(Path(p).relative_to(root).as_posix())
    return out


# --- the pins --------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path):
    return tmp_path / "d"


def test_classification(root):
    got = {
        "single": digest(
            classification_splits(
                class_folder(root / "a", {"ant": 5, "cat": 7, "dog": 11}),
                val_fraction=0.2,
                test_fraction=0.2,
                seed=0,
            )
        ),
        "single_seed5": digest(
            classification_splits(root / "a", val_fraction=0.3, test_fraction=0.0, seed=5)
        ),
        "train_only": digest(
            classification_splits(
                class_folder(root / "b" / "train", {"a": 6, "b": 9}).parent,
                val_fraction=0.25,
                test_fraction=0.2,
                seed=2,
            )
        ),
    }
    class_folder(root / "c" / "train", {"a": 8, "b": 5})
    class_folder(root / "c" / "val", {"a": 2, "b": 2})
    got["train_val_carve_test"] = digest(
        classification_splits(root / "c", val_fraction=0.2, test_fraction=0.25, seed=3)
    )
    assert got == EXPECTED["classification"]


def test_detection_records(root):
    simple_coco(root / "coco", n_images=13)
    voc_train_only(root / "voc", 11)
    yolo_flat(root / "yolo", 9)
    got = {
        "coco_all": digest(record_splits(root, root / "coco" / "instances.json", 0.2, 0.1, 0)),
        "coco_all_seed7": digest(record_splits(root, root / "coco" / "instances.json", 0.3, 0, 7)),
        "voc_train_only": digest(record_splits(root, root / "voc", 0.2, 0.2, 1)),
        "yolo_all": digest(record_splits(root, root / "yolo", 0.25, 0.15, 4)),
    }
    assert got == EXPECTED["detection"]


def test_instance_records(root):
    coco_polygons(root, 12)
    got = digest(record_splits(root, root / "instances.json", 0.25, 0.2, 2, instance=True))
    assert got == EXPECTED["instance"]


def test_semantic(root):
    semantic_flat(root / "flat", 9)
    semantic_train_only(root / "split", 7)
    got = {
        "flat": digest(
            semantic_splits(root / "flat", val_fraction=0.34, test_fraction=0.2, seed=1)
        ),
        "train_only": digest(semantic_splits(root / "split", val_fraction=0.3, seed=4)),
    }
    assert got == EXPECTED["semantic"]


def test_data_check(root, monkeypatch):
    class_folder(root / "cls", {"ant": 5, "cat": 7})
    simple_coco(root / "coco", n_images=10)
    coco_polygons(root / "inst", 8)
    semantic_flat(root / "sem", 8)
    kw = {"val_fraction": 0.25, "test_fraction": 0.2, "seed": 3}
    got = {
        "classify": digest(check_splits(monkeypatch, root, root / "cls", "classify", **kw)),
        "detect": digest(
            check_splits(monkeypatch, root, root / "coco" / "instances.json", "detect", **kw)
        ),
        "instance": digest(
            check_splits(monkeypatch, root, root / "inst" / "instances.json", "instance", **kw)
        ),
        "segment": digest(check_splits(monkeypatch, root, root / "sem", "segment", **kw)),
    }
    assert got == EXPECTED["check"]


# Recorded on the code before the carve was unified (see the module documentation).
EXPECTED: dict[str, dict] = {
    "classification": {
        "single": {"train": "15:ed4172552aea", "val": "4:f2bf93729a83", "test": "4:be64474b02e5"},
        "single_seed5": {"train": "16:33c04f4ef2b4", "val": "7:0f233ac0bc53"},
        "train_only": {
            "train": "8:73344ad5cb1b",
            "val": "4:6fde7091c561",
            "test": "3:18bad0303dba",
        },
        "train_val_carve_test": {
            "train": "10:58cb50ccb255",
            "val": "4:7c906d4b6e70",
            "test": "3:39425549e8e9",
        },
    },
    "detection": {
        "coco_all": {"train": "9:0720f906ce07", "val": "3:de202d1c35e2", "test": "1:52abbfbce33c"},
        "coco_all_seed7": {
            "train": "9:fdd240a97d30",
            "val": "4:12676a8ae486",
            "test": "0:97d170e1550e",
        },
        "voc_train_only": {
            "train": "9:f40079082059",
            "val": "2:eb488fe9e0f4",
            "test": "0:97d170e1550e",
        },
        "yolo_all": {"train": "6:099f67081f5a", "val": "2:4ec2ef9bce06", "test": "1:4020b4ab0b93"},
    },
    "instance": {"train": "7:de91473d0090", "val": "3:7e6ac9d25e5d", "test": "2:6bc5b979a919"},
    "semantic": {
        "flat": {"train": "4:67c7104e1942", "val": "3:26a2ba4cbdde", "test": "2:ee287271316b"},
        "train_only": {"train": "5:0f1e64592db6", "val": "2:71a7462e30e9"},
    },
    "check": {
        "classify": {"train": "7:916f505744ae", "val": "3:c855be77a05f", "test": "2:d636d2a1f81e"},
        "detect": {"train": "5:d6ae60cad45e", "val": "3:cba0a900414d", "test": "2:22538bc1f1f3"},
        "instance": {"train": "4:16f6b42b88a0", "val": "2:38fdb6556c10", "test": "2:a6b78e6c00d7"},
        "segment": {"train": "4:ba83716e9eb5", "val": "2:0d0927691213", "test": "2:4642d55675e7"},
    },
}

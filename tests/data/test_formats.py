"""The FORMATS registry: what each format can do, auto-detection order, and a format added as one
object plus one registration, reached by the readers and by conversion without other changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.detect.helpers import simple_coco
from transferkit.core.errors import ConfigError
from transferkit.core.registry import Registry
from transferkit.data import formats
from transferkit.data.convert import convert_dataset
from transferkit.data.formats import FORMATS, Format, formats_for
from transferkit.data.records import (
    ALL,
    DetectionRecord,
    DetectionSource,
    ObjectAnn,
    check_box,
    detect_format,
    read_source,
)

TSV = "boxes.tsv"


def read_tsv(path: Path, issues) -> DetectionSource:
    """A toy box format: one line per object, ``file x1 y1 x2 y2 label`` (size 64 x 48)."""
    records: dict[str, DetectionRecord] = {}
    for line in (path / TSV).read_text().splitlines():
        name, *box, label = line.split("\t")
        rec = records.setdefault(name, DetectionRecord(path / name, 64, 48, len(records) + 1))
        rec.file_name = name
        kept = check_box([float(v) for v in box], 64, 48, f"{path / TSV}", issues)
        if kept is not None:
            rec.objects.append(ObjectAnn(kept, int(label)))
    return DetectionSource(
        "tsv", path, ["cat", "dog"], [1, 2], {ALL: list(records.values())}, issues
    )


def write_tsv(dst: Path, splits, class_names, category_ids=None) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    lines = [
        "\t".join([r.path.name, *(f"{v:g}" for v in o.box), str(o.label)])
        for records in splits.values()
        for r in records
        for o in r.objects
    ]
    (dst / TSV).write_text("\n".join(lines) + "\n")
    return [dst / TSV]


TOY = Format(
    "tsv",
    detect_boxes=lambda path: (path / TSV).is_file(),
    read_boxes=read_tsv,
    write_boxes=write_tsv,
)


@pytest.fixture
def with_toy(monkeypatch):
    registry: Registry[Format] = Registry("format")
    for name in FORMATS.names():
        registry.register(name, FORMATS.get(name))
    registry.register("tsv", TOY)
    monkeypatch.setattr(formats, "FORMATS", registry)
    return registry


def test_what_each_format_does_in_detection_order():
    assert formats_for("read_boxes") == ["yolo", "voc", "labelme", "coco"]
    assert formats_for("write_boxes") == ["yolo", "voc", "labelme", "coco"]
    assert formats_for("list_masks") == ["yolo", "voc", "folder", "labelme", "coco"]
    for name, f in FORMATS.items():
        assert f.name == name


def test_duplicate_and_unknown_formats_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="registered twice"):
        FORMATS.register("coco", "transferkit.data.formats.coco:FORMAT")
    simple_coco(tmp_path)
    with pytest.raises(ConfigError, match="unknown detection format 'cocoo'. Did you mean 'coco'"):
        read_source(tmp_path / "instances.json", "cocoo")
    with pytest.raises(ConfigError, match="valid formats: yolo, voc, labelme, coco"):
        convert_dataset(tmp_path / "instances.json", tmp_path / "out", dst_format="folder")


def test_a_new_format_is_read_detected_and_written_through_the_registry(tmp_path, with_toy):
    simple_coco(tmp_path / "src", n_images=3)
    convert_dataset(tmp_path / "src" / "instances.json", tmp_path / "tsv", dst_format="tsv")
    assert detect_format(tmp_path / "tsv") == "tsv"
    back = read_source(tmp_path / "tsv")
    original = read_source(tmp_path / "src" / "instances.json")
    boxes = {r.path.name: [o.box for o in r.objects] for r in back.splits[ALL]}
    assert boxes == {r.path.name: [o.box for o in r.objects] for r in original.splits[ALL]}

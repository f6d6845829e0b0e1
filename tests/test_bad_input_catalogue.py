"""The bad-input catalogue: every reader, every predictions format and every numeric option, each
given one bad value. Each must end with exit 2, no traceback, and a message naming the file or
the flag (readers and predictions: the file; options: the flag or, from YAML, the file).
"""

from __future__ import annotations

import math

import pytest
import yaml

from tests.bad_inputs import (
    coco_case,
    coco_encoded,
    drop,
    no_image_sizes,
    predictions_case,
    voc_case,
    yolo_case,
    yolo_latin1_labels,
)
from transferkit.cli.main import main
from transferkit.core.config import _FIELD_SECTION, RANGES, RunConfig


def outside(name: str) -> float:
    """A value just outside the declared range of option ``name``."""
    r = RANGES[name]
    if r.low is not None:
        return r.low if r.low_open else r.low - 1
    return r.high if r.high_open else r.high + 1


# Options of a run's config: all have a train flag except these (YAML only).
YAML_ONLY = {"ignore_index", "warmup_epochs", "grad_clip"}
CONFIG_NUMBERS = sorted(n for n in RANGES if n in _FIELD_SECTION)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def train_flag(name: str, value):
    return lambda root: (["train", "--data", str(root), _flag(name), str(value)], _flag(name))


def train_yaml(name: str, value):
    def build(root):
        cfg = root / "bad.yaml"
        cfg.write_text(yaml.safe_dump({_FIELD_SECTION[name]: {name: value}}))
        return ["train", "--config", str(cfg), "--data", str(root)], "bad.yaml"

    return build


def command(*argv: str, needle: str):
    return lambda root: ([a.replace("ROOT", str(root)) for a in argv], needle)


OPTION_CASES = {
    **{f"train {_flag(n)} out of range": train_flag(n, outside(n)) for n in CONFIG_NUMBERS},
    **{f"yaml {n} out of range": train_yaml(n, outside(n)) for n in CONFIG_NUMBERS},
    **{
        f"train {_flag(n)} nan": train_flag(n, "nan")
        for n in CONFIG_NUMBERS
        if RANGES[n].kind is float and n not in YAML_ONLY
    },
    "train --lr inf": train_flag("lr", "inf"),
    "train --batch-size 1.5 (not an integer)": train_flag("batch_size", "1.5"),
    "yaml lr: .inf": train_yaml("lr", math.inf),
    "yaml lr: text": train_yaml("lr", "fast"),
    "yaml epochs: '5' (text)": train_yaml("epochs", "5"),
    "evaluate --batch-size 0": command("evaluate", "ROOT", "--batch-size", "0", needle="--batch"),
    "rank --batch-size 0": command(
        "rank", "--data", "ROOT", "--backbones", "x", "--batch-size", "0", needle="--batch-size"
    ),
    "rank --num-workers -1": command(
        "rank", "--data", "ROOT", "--backbones", "x", "--num-workers", "-1", needle="--num-workers"
    ),
    "rank --img-size 8": command(
        "rank", "--data", "ROOT", "--backbones", "x", "--img-size", "8", needle="--img-size"
    ),
    "predict --score-threshold 1.5": command(
        "predict", "ROOT", "ROOT", "--score-threshold", "1.5", needle="--score-threshold"
    ),
    "predict --top-k 0": command("predict", "ROOT", "ROOT", "--top-k", "0", needle="--top-k"),
    "export --opset 5": command("export", "ROOT", "--opset", "5", needle="--opset"),
    "plan --num-classes 0": command("plan", "--num-classes", "0", needle="--num-classes"),
    "plan --lr-decay 2": command("plan", "--lr-decay", "2", needle="--lr-decay"),
    "curve --val-fraction 1": command(
        "curve", "--data", "ROOT", "--val-fraction", "1", needle="--val"
    ),
    "compare --epochs 0": command("compare", "--data", "ROOT", "--epochs", "0", needle="--epochs"),
    "data check --test-fraction -0.1": command(
        "data", "check", "ROOT", "--test-fraction", "-0.1", needle="--test-fraction"
    ),
    "data check --split-seed -1": command(
        "data", "check", "ROOT", "--split-seed", "-1", needle="--split-seed"
    ),
}

READER_CASES = {
    "coco bbox coordinate as text": coco_case(
        lambda d: d["annotations"][0].update(bbox=["5", 6, 20, 10])
    ),
    "coco image width as text": coco_case(lambda d: d["images"][0].update(width="64")),
    "coco image height negative": coco_case(lambda d: d["images"][1].update(height=-48)),
    "coco category id as text": coco_case(lambda d: d["categories"][0].update(id="one")),
    "coco annotation category_id as text": coco_case(
        lambda d: d["annotations"][0].update(category_id="1")
    ),
    "coco iscrowd as text": coco_case(lambda d: d["annotations"][0].update(iscrowd="0")),
    "coco annotation without bbox": coco_case(lambda d: d["annotations"][1].pop("bbox")),
    "coco box of negative width": coco_case(
        lambda d: d["annotations"][0].update(bbox=[5, 5, -4, 5])
    ),
    "coco box wholly outside the image": coco_case(
        lambda d: d["annotations"][0].update(bbox=[500, 500, 5, 5])
    ),
    "coco json saved as Latin-1": coco_encoded("latin-1"),
    "coco json saved as UTF-16": coco_encoded("utf-16"),
    "yolo names map words to indices": yolo_case("data.yaml", names="{boat: 0, buoy: 1}"),
    "yolo names key not an index": yolo_case("data.yaml", names="{boat: x, 1: buoy}"),
    "yolo class index as text": yolo_case(label="boat 0.5 0.5 0.2 0.4\n"),
    "yolo value outside [0, 1]": yolo_case(label="0 0.5 0.5 1.2 0.4\n"),
    "yolo unknown class index": yolo_case(label="5 0.5 0.5 0.2 0.4\n"),
    "yolo label file saved as Latin-1": yolo_latin1_labels,
    "voc width as text": voc_case(width="sixty"),
    "voc xmin as text": voc_case(xmin="left"),
}

PREDICTION_CASES = {
    "detect results without image_id": predictions_case(change=drop("image_id")),
    "detect results without bbox": predictions_case(change=drop("bbox")),
    "detect results without score": predictions_case(change=drop("score")),
    "detect score above 1": predictions_case(change=lambda r: r.update(score=1.5)),
    "detect score negative": predictions_case(change=lambda r: r.update(score=-0.1)),
    "detect score as text": predictions_case(change=lambda r: r.update(score="high")),
    "detect negative box size": predictions_case(change=lambda r: r.update(bbox=[5, 6, -20, 10])),
    "detect bbox as text": predictions_case(change=lambda r: r.update(bbox="5 6 20 10")),
    "detect category_id as text": predictions_case(change=lambda r: r.update(category_id="cat")),
    "detect results not a list": predictions_case(raw=b'{"image_id": 1}'),
    "detect results not UTF-8": predictions_case(raw='[{"x": "\u00e9"}]'.encode("latin-1")),
    "instance results without segmentation": predictions_case("instance", drop("segmentation")),
    "instance score above 1": predictions_case("instance", lambda r: r.update(score=2)),
    "instance ground truth without width/height": predictions_case(
        "instance", gt_change=no_image_sizes
    ),
}

CASES = {**OPTION_CASES, **READER_CASES, **PREDICTION_CASES}


@pytest.mark.parametrize("build", CASES.values(), ids=CASES.keys())
def test_bad_input_exits_2_without_traceback_naming_file_or_flag(tmp_path, capsys, build):
    argv, needle = build(tmp_path)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refuses text that is not a number
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert needle in err, err


def test_the_catalogue_covers_every_declared_number():
    flagged = {n for n in CONFIG_NUMBERS if f"train {_flag(n)} out of range" in CASES}
    assert flagged == set(CONFIG_NUMBERS)
    assert len(CASES) >= 90


@pytest.mark.parametrize("name", CONFIG_NUMBERS)
def test_api_refuses_what_the_cli_refuses(name):
    with pytest.raises(ValueError, match=f"invalid {name}"):
        RunConfig().with_values(**{name: outside(name)})


def test_polygon_outside_its_box_and_the_image_is_refused_or_a_counted_skip(tmp_path):
    from tests.bad_inputs import coco
    from transferkit.core.errors import DatasetError
    from transferkit.data.datasets.instance import check_records
    from transferkit.data.records import Issues, read_source

    def change(d):
        for a in d["annotations"]:  # a triangle inside each box
            x, y, w, h = a["bbox"]
            a["segmentation"] = [[x, y, x + w, y, x + w, y + h]]
        d["annotations"][0]["segmentation"] = [[200, 200, 220, 200, 220, 220]]

    path = coco(tmp_path, change)
    records = read_source(path).splits["all"]
    with pytest.raises(DatasetError, match=r"object 1: the polygon .* outside the 64x48 image"):
        check_records(records, Issues("fail"))
    issues = Issues("skip")
    check_records(read_source(path).splits["all"], issues)
    assert issues.counts["bad_segmentation"] == 1


def test_data_check_warns_of_image_paths_leaving_the_data_folder(tmp_path):
    from tests.bad_inputs import coco
    from tests.detect.helpers import make_image
    from transferkit.data.check.dataset import check_dataset

    make_image(tmp_path / "elsewhere.png", 64, 48)
    path = coco(tmp_path, lambda d: d["images"][0].update(file_name="../elsewhere.png"))
    report = check_dataset(path, task="detect")
    (warning,) = [p for p in report.warnings if p.kind == "outside_data_folder"]
    assert "elsewhere.png" in warning.message and "1 image path" in warning.message
    clean = check_dataset(coco(tmp_path / "ok", lambda d: None), task="detect")
    assert not [p for p in clean.warnings if p.kind == "outside_data_folder"]

"""Multi-label readers: CSV (``;`` / spaces, one-hot), class folders merged by content, and the
bad inputs that must stop with one line, a hint and exit status 2."""

from __future__ import annotations

import pytest

from tests.multilabel.helpers import make_csv, make_folder, make_one_hot
from transferkit.cli.main import main
from transferkit.core.errors import DatasetError
from transferkit.data.datasets.multilabel import list_label_source, load_multilabel_data
from transferkit.data.labels import split_labels


def test_label_cells_split_on_semicolons_or_spaces():
    assert split_labels("cat;outdoor") == ("cat", "outdoor")
    assert split_labels(" cat  outdoor cat ") == ("cat", "outdoor")
    assert split_labels("traffic light; car") == ("traffic light", "car")
    assert split_labels("") == ()


@pytest.mark.parametrize("sep", [";", " "])
def test_csv_reads_label_sets_and_counts_unlabelled_images(tmp_path, sep):
    csv_path = make_csv(tmp_path, n=12, sep=sep)
    splits = load_multilabel_data(csv_path, val_fraction=0.25)
    assert splits.class_names == ["blue", "green", "red"]  # sorted: no order given
    samples = dict(splits.train.samples + splits.val.samples)
    assert samples[str(tmp_path / "images" / "000.png")] == (1.0, 1.0, 1.0)
    assert samples[str(tmp_path / "images" / "001.png")] == (0.0, 0.0, 0.0)
    s = splits.summary
    assert s["totals"] == {"train": 9, "val": 3} and s["format"] == "label_csv"
    assert sum(s["unlabelled"].values()) == sum(1 for t in samples.values() if not any(t))
    image, target = splits.train[0]
    assert image.shape[0] == 3 and target.dtype.is_floating_point and target.shape == (3,)


def test_one_hot_csv_keeps_its_column_order(tmp_path):
    splits = load_multilabel_data(make_one_hot(tmp_path), val_fraction=0.25)
    assert splits.class_names == ["red", "green", "blue"]
    samples = dict(splits.train.samples + splits.val.samples)
    assert samples[str(tmp_path / "images" / "000.png")] == (1.0, 1.0, 1.0)


def test_classes_option_fixes_the_order_and_may_add_unused_labels(tmp_path):
    splits = load_multilabel_data(
        make_csv(tmp_path, n=12), classes=["red", "green", "blue", "violet"], val_fraction=0.25
    )
    assert splits.class_names == ["red", "green", "blue", "violet"]
    assert splits.summary["counts"]["train"]["violet"] == 0


def test_folder_copies_with_the_same_content_are_one_image_with_every_label(tmp_path):
    root = make_folder(tmp_path / "folders", n=12)
    listing = list_label_source(root)
    assert listing.format == "label_folder"
    first = next(e for e in listing.entries if e.path.name.startswith("img000"))
    assert sorted(first.labels) == ["blue", "green", "red"]  # copied into three folders
    files = sum(1 for p in root.rglob("*.png"))
    assert listing.merged == files - len(listing.entries) > 0
    assert len({e.path.name[:6] for e in listing.entries}) == len(listing.entries)


def _cli_error(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("error: ")
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].lstrip().startswith("hint:"), err
    return lines[0]


def _train(data, *extra):
    return ("train", "--task", "multilabel", "--data", str(data), "--weights", "none",
            "--backbone", "timm:resnet18", "--epochs", "1", "--quiet", *extra)  # fmt: skip


def test_a_label_not_in_classes_names_the_line(tmp_path, capsys):
    data = make_csv(tmp_path, n=8)
    line = _cli_error(capsys, *_train(data, "--classes", "red,green"))
    assert "labels.csv:2: label 'blue' is not in --classes (red, green)" in line


def test_an_empty_csv(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("")
    line = _cli_error(capsys, *_train(tmp_path / "labels.csv"))
    assert "labels.csv is empty" in line


def test_a_header_without_rows(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("path,labels\n")
    line = _cli_error(capsys, *_train(tmp_path / "labels.csv"))
    assert "has a header but no rows" in line


def test_a_one_hot_cell_that_is_not_0_or_1(tmp_path, capsys):
    path = make_one_hot(tmp_path, n=6)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",2"
    path.write_text("\n".join(lines) + "\n")
    line = _cli_error(capsys, *_train(path))
    assert "onehot.csv:4: column 'blue' holds '2', not 0 or 1" in line


def test_the_same_image_in_two_splits_is_refused(tmp_path):
    root = make_folder(tmp_path / "f", n=4)
    (tmp_path / "s" / "train").mkdir(parents=True)
    (tmp_path / "s" / "val").mkdir()
    (root / "red").rename(tmp_path / "s" / "train" / "red")
    (root / "green").rename(tmp_path / "s" / "val" / "green")
    with pytest.raises(DatasetError, match="same content .* in another split"):
        list_label_source(tmp_path / "s")


def test_classes_is_refused_for_single_label_classification(tmp_path, capsys):
    data = make_csv(tmp_path, n=8)
    argv = ["train", "--data", str(data), "--classes", "red,green", "--weights", "none",
            "--backbone", "timm:resnet18", "--epochs", "1", "--quiet"]  # fmt: skip
    assert "--classes is read by --task multilabel" in _cli_error(capsys, *argv)


def test_the_demo_mosaics_are_labelled_by_the_classes_they_hold(tmp_path):
    from transferkit.tasks.multilabel.demo import COUNTS, _prepare

    csv_path = _prepare(tmp_path)["data"]
    listing = list_label_source(csv_path)
    assert len(listing.entries) == sum(COUNTS.values())
    sizes = [len(e.labels) for e in listing.entries]
    assert max(sizes) <= 4 and min(sizes) == 0  # up to four tiles; some mosaics are empty
    assert {e.split for e in listing.entries} == {"train", "val", "test"}

"""``transferkit curve`` on a tiny data set: the table, the answer, curve.json and curve.png, the
feature cache, the test split left alone, and bad --fractions refused with one line and a hint."""

from __future__ import annotations

import json

import pytest

import transferkit.api as api
import transferkit.transfer.features as features
from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.errors import ConfigError

ARGS = ["--backbone", "tiny", "--weights", "none", "--img-size", "32", "--quiet"]


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=20)


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_curve_prints_the_table_and_the_answer_and_writes_its_files(
    capsys, data, tiny_zoo, tmp_path
):
    out = tmp_path / "curve"
    code, stdout, err = _run(capsys, "curve", "--data", str(data), "--out", str(out), *ARGS)
    assert code == 0, err
    record = json.loads((out / "curve.json").read_text())
    assert record["fractions"] == [0.1, 0.25, 0.5, 1.0]
    assert record["evaluated_split"] == "val"
    assert record["images"] == {"train": 48, "val": 12}
    assert record["classes"] == ["blue", "green", "red"]
    points = record["points"]
    assert [p["fraction"] for p in points] == [0.1, 0.25, 0.5, 1.0]
    # Stratified per class (16 train images each): 2, 4, 8 and 16 per class.
    assert [p["images"] for p in points] == [6, 12, 24, 48]
    assert all(0.0 <= p["val_accuracy"] <= 1.0 and p["l2"] > 0 for p in points)
    assert isinstance(record["more_labels_help"], bool)
    assert record["answer"].startswith("more labels would likely")
    assert record["features"]["extracted"] == 60  # train + val, once
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "val accuracy" in stdout and "48" in stdout
    assert record["answer"] in stdout
    assert "curve.json" in stdout


def test_a_second_curve_reads_the_features_from_the_cache(data, tiny_zoo, tmp_path):
    first = api.curve(data, "tiny", "0.5,1", weights="none", img_size=32, quiet=True)
    second = api.curve(data, "tiny", (0.5, 1.0), weights="none", img_size=32, quiet=True)
    assert first.record["features"]["extracted"] == 60
    assert second.record["features"]["extracted"] == 0
    assert first.record["points"] == second.record["points"]  # same seed, same subsets
    assert first.json_path is None  # no output folder: nothing written


def test_the_test_split_is_never_read(tmp_path, tiny_zoo, monkeypatch):
    data = make_image_folder(tmp_path / "data", per_class=10, splits=["train", "val", "test"])
    asked = []
    real = features.FeatureCache.features

    def spy(self, backbone, paths, *args, **kwargs):
        asked.extend(str(p) for p in paths)
        return real(self, backbone, paths, *args, **kwargs)

    monkeypatch.setattr(features.FeatureCache, "features", spy)
    result = api.curve(data, "tiny", "0.5,1", weights="none", img_size=32, quiet=True)
    assert result.record["images"] == {"train": 30, "val": 30}
    assert len(asked) == 60 and not any("/test/" in p for p in asked)


@pytest.mark.parametrize("fractions", ["0", "1.5", "", "0.5,0.25", "0.1,1.5", "a,b"])
def test_bad_fractions_exit_2_with_one_line_and_a_hint(capsys, data, fractions, tmp_path):
    code, _, err = _run(
        capsys, "curve", "--data", str(data), "--fractions", fractions, "--out", str(tmp_path)
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: invalid fractions")
    assert lines[1].startswith("hint: ") and "--fractions 0.1,0.25,0.5,1" in lines[1]
    assert not (tmp_path / "curve.json").exists()


def test_bad_fractions_are_refused_by_the_api_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="invalid fractions"):
        api.curve(tmp_path / "does-not-exist", fractions=(0.0, 1.0))


def test_data_without_a_validation_split_is_refused(capsys, data, tiny_zoo):
    code, _, err = _run(capsys, "curve", "--data", str(data), "--val-fraction", "0", *ARGS)
    assert code == 2
    assert "no validation split" in err and "hint: " in err

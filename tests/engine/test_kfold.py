"""k-fold cross-validation: stratified disjoint folds, out-of-fold predictions for every image once,
the refit on every image, and the bad inputs (``train --folds``)."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.splits import stratified_folds
from transferkit.engine.kfold import fit_folds


def test_folds_are_disjoint_cover_everything_and_keep_the_class_balance():
    labels = ["a"] * 10 + ["b"] * 7 + ["c"] * 4
    keys = [f"img{i:02d}" for i in range(len(labels))]
    folds = stratified_folds(labels, 4, seed=3, keys=keys)
    assert len(folds) == 4
    flat = [i for f in folds for i in f]
    assert sorted(flat) == list(range(len(labels)))  # every sample exactly once
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1  # 21 into 4: 6, 5, 5, 5
    for cls, n in Counter(labels).items():
        per_fold = [sum(labels[i] == cls for i in f) for f in folds]
        assert sum(per_fold) == n and max(per_fold) - min(per_fold) <= 1, (cls, per_fold)
    assert stratified_folds(labels, 4, seed=3, keys=keys) == folds  # seeded
    assert stratified_folds(labels, 4, seed=4, keys=keys) != folds
    # The listing order does not matter, only the keys.
    order = list(reversed(range(len(labels))))
    again = stratified_folds([labels[i] for i in order], 4, 3, [keys[i] for i in order])
    assert sorted(sorted(order[i] for i in f) for f in again) == sorted(folds)


@pytest.mark.parametrize(
    ("folds", "needle"),
    [(1, "at least 2, got 1"), (0, "at least 2"), (5, "more than the 4 image(s) of class 'c'")],
)
def test_bad_fold_counts(folds, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        stratified_folds(["a"] * 10 + ["c"] * 4, folds)


def test_kfold_runs_oof_predictions_and_refit(tmp_path, tiny_zoo):
    data = make_image_folder(tmp_path / "data", per_class=4)  # 12 images, 3 classes
    cfg = RunConfig().with_values(
        path=str(data), backbone="tiny", strategy="head", epochs=1, batch_size=8, quiet=True
    )
    out = tmp_path / "cv"
    result = fit_folds(cfg, out, folds=3, refit=True)
    images = sorted(str(p.absolute()) for p in data.rglob("*.png"))
    for i in (1, 2, 3):
        assert (out / f"fold-{i}" / "metrics.json").is_file()
    with open(out / "oof_predictions.csv", newline="") as f:
        oof = list(csv.DictReader(f))
    assert sorted(r["path"] for r in oof) == images  # every labelled image exactly once
    for i in (1, 2, 3):  # ... predicted by the fold that held it out
        with open(out / "folds" / f"fold-{i}.csv", newline="") as f:
            held = {r["path"] for r in csv.DictReader(f) if r["split"] == "val"}
        assert held == {r["path"] for r in oof if r["fold"] == str(i)}
        per_class = Counter(r["label"] for r in oof if r["fold"] == str(i))
        assert set(per_class) == {"blue", "green", "red"}  # stratified: 4 per class into 3
        assert set(per_class.values()) <= {1, 2}
    summary = json.loads((out / "kfold.json").read_text())
    accs = [f["accuracy"] for f in summary["per_fold"]]
    assert summary["mean"]["accuracy"] == pytest.approx(sum(accs) / 3)
    pooled = sum(int(r["correct"]) for r in oof) / len(oof)
    assert summary["out_of_fold"]["accuracy"] == pytest.approx(pooled)
    lo, hi = summary["out_of_fold"]["ci"]["accuracy"]
    assert lo <= pooled <= hi
    # The refit trained on all 12 images (its val is the same images, said in data.json).
    refit = json.loads((out / "refit" / "data.json").read_text())
    assert sum(refit["totals"].values()) >= 12 and "refit" in refit
    assert result.refit is not None and summary["refit_run"] == str(out / "refit")
    assert json.loads((out / "refit" / "metrics.json").read_text())["val"]["num_samples"] == 12
    # ... with the augmentation the folds chose (auto resolves per fold; all agree here)
    knobs = ("hflip", "vflip", "crop_scale", "jitter", "rotation")
    fold1 = RunConfig.load(out / "fold-1" / "config.yaml").data
    refit_cfg = RunConfig.load(out / "refit" / "config.yaml").data
    assert [getattr(refit_cfg, k) for k in knobs] == [getattr(fold1, k) for k in knobs]
    assert json.loads((out / "refit" / "augment.json").read_text())["check"] is None


def _cli(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--folds", "1"], ["--folds must be a whole number of at least 2, got 1", "hint:"]),
        (
            ["--folds", "7"],
            ["--folds 7 is more than the 6 image(s) of class", "--folds 6 or fewer"],
        ),
        (["--refit"], ["--refit goes with --folds K"]),
        (["--folds", "3", "--test-fraction", "0.2"], ["--test-fraction", "hint:"]),
        (["--folds", "3", "--task", "segment"], ["--folds is for classification"]),
    ],
)
def test_cli_bad_fold_input_is_one_line_and_a_hint(capsys, tmp_path, tiny_zoo, extra, needles):
    data = make_image_folder(tmp_path / "data", per_class=6)
    code, err = _cli(capsys, "train", "--data", str(data), "--quiet", *extra)
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # the message and its hint
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "runs").exists()


def test_cli_train_folds_prints_the_fold_table(capsys, tmp_path, tiny_zoo):
    data = make_image_folder(tmp_path / "data", per_class=3)
    out = tmp_path / "cv"
    argv = ["train", "--data", str(data), "--folds", "3", "--epochs", "1", "--out", str(out)]
    assert main([*argv, "--strategy", "head", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "3-fold cross-validation" in text and "mean +- sd" in text and "out of fold" in text
    assert (out / "kfold.json").is_file() and not (out / "refit").exists()

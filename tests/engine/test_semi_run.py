"""Runs with ``--unlabelled``: the unlabelled images read, self-trained on, guarded, recorded.

The tiny backbone (random init) on noisy colour images; unlabelled images are more of the same
colours, or noise of no class.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

import transferkit.engine.semi_run as semi_run
from tests.engine.conftest import make_image_folder
from tests.engine.test_lpft_run import _muddy_colours
from transferkit.core.config import RunConfig
from transferkit.core.errors import DatasetError
from transferkit.data.unlabelled import read_unlabelled
from transferkit.engine.run import run


def _cfg(data, unlabelled, **values):
    base = dict(
        path=str(data),
        unlabelled=str(unlabelled),
        backbone="tiny",
        weights="none",
        strategy="probe",
        epochs=1,
        batch_size=8,
        patience=None,
        quiet=True,
        img_size=32,
        val_fraction=0.25,
        test_fraction=0.25,
    )
    base.update(values)
    return RunConfig().with_values(**base)


@pytest.fixture
def labelled(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=8)


@pytest.fixture
def pool(tmp_path):
    """Unlabelled images of the same colours (another seed), in nested folders."""
    folder = make_image_folder(tmp_path / "pool", per_class=10, seed=7)
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def self_train_calls(monkeypatch):
    calls = []
    real = semi_run.self_train

    def spy(fit, feats, labels, unlabelled, num_classes):
        calls.append({"splits": set(feats) | set(labels), "rows": len(unlabelled)})
        return real(fit, feats, labels, unlabelled, num_classes)

    monkeypatch.setattr(semi_run, "self_train", spy)
    return calls


def test_test_images_never_supply_or_receive_pseudo_labels(
    labelled, pool, tiny_zoo, self_train_calls, tmp_path
):
    shutil.copytree(labelled, pool / "copies")  # every labelled image, val and test included
    result = run(_cfg(labelled, pool), tmp_path / "run")
    semi = json.loads((result.run_dir / "semi.json").read_text())
    totals = json.loads((result.run_dir / "data.json").read_text())["totals"]
    assert totals["test"] > 0
    assert semi["unlabelled"]["refused_leakage"] == totals["val"] + totals["test"]
    used = 30 + totals["train"]  # the pool, and copies of train images (not held out)
    assert semi["unlabelled"]["used"] == used and semi["unlabelled"]["ignored_files"] == 1
    # Self-training sees train and val only, and the pool minus the refused copies.
    assert self_train_calls == [{"splits": {"train", "val"}, "rows": used}]
    assert semi["semi"] == "self-training" and semi["kept"] in ("with_unlabelled", "labelled_only")
    rounds = semi["self_training"]["rounds"]
    assert rounds and set(rounds[0]["per_class"]) == {"blue", "green", "red"}
    assert "accuracy" in rounds[0]["holdout"]


def test_copies_of_test_images_in_the_pool_are_refused_and_counted(labelled, tmp_path):
    pool = tmp_path / "pool"
    shutil.copytree(labelled / "red", pool / "a")
    held = [str(p) for p in sorted((labelled / "red").iterdir())[:3]]
    images = read_unlabelled(pool, held)
    assert len(images.leaked) == 3 and len(images.paths) == 5
    assert all(not p.endswith(tuple(h.split("/")[-1] for h in held)) for p in images.paths)


def test_the_guard_keeps_the_labelled_only_model_for_noise(tiny_zoo, tmp_path):
    data = _muddy_colours(tmp_path / "muddy")  # an imperfect probe: room for harm
    noise = tmp_path / "noise"
    noise.mkdir()
    rng = np.random.default_rng(1)
    for i in range(60):  # black-and-white pixel noise: no class's colour
        img = (rng.integers(0, 2, (32, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(noise / f"{i}.png")
    result = run(_cfg(data, noise), tmp_path / "run")
    semi = json.loads((result.run_dir / "semi.json").read_text())
    assert semi["kept"] == "labelled_only", semi["self_training"]["probe_guard"]
    assert semi["self_training"]["rounds"][0]["atypical_left_out"] == 60
    probe = semi["self_training"]["probe"]
    assert result.metrics["accuracy"] == pytest.approx(probe["labelled_only"]["test"], abs=1e-4)


def test_bad_unlabelled_images_are_counted_and_skipped(tmp_path):
    pool = make_image_folder(tmp_path / "pool", classes=("red",), per_class=4)
    (pool / "red" / "broken.png").write_bytes(b"not a png")
    images = read_unlabelled(pool)
    assert len(images.paths) == 4 and len(images.skipped) == 1
    assert "broken.png" in images.skipped[0][0]


def test_a_text_file_of_paths_is_read_relative_to_it(tmp_path):
    make_image_folder(tmp_path / "pool", classes=("red",), per_class=3)
    listing = tmp_path / "list.txt"
    listing.write_text("# unlabelled\npool/red/red_0.png\n\npool/red/red_2.png\n")
    assert [p.rsplit("/", 1)[-1] for p in read_unlabelled(listing).paths] == [
        "red_0.png",
        "red_2.png",
    ]


def test_an_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        read_unlabelled(tmp_path / "empty")


def test_fine_tuning_trains_with_pseudo_labels_and_records_both(labelled, pool, tiny_zoo, tmp_path):
    result = run(_cfg(labelled, pool, strategy="head", adapt="bn"), tmp_path / "run")
    semi = json.loads((result.run_dir / "semi.json").read_text())
    assert semi["adapt"] == "bn"
    tuned = semi["fine_tune"]
    assert set(tuned["labelled_only"]) == {"val", "test"}
    assert semi["kept"] in ("with_unlabelled", "labelled_only") and semi["reason"]
    assert (result.run_dir / "checkpoints" / "best.safetensors").is_file()
    # AdaBN again after fine-tuning: the best checkpoint says so, the metrics are the adapted's.
    best = json.loads((result.run_dir / "checkpoints" / "best.json").read_text())
    assert best["adabn"] == "re-estimated after fine-tuning"
    assert result.metrics["adabn_after_fine_tuning"]["images"] == 30
    assert not list(result.run_dir.glob(".semi-runs-*"))  # the scratch runs are gone

"""The augmentation check in a run: flips turned off where they change the class, kept elsewhere.

The claim is about what pretrained features see (a mirrored ramp that darkens to the left is one
that darkens to the right), so these tests use the real EfficientNet-Lite0 ImageNet weights, at
64 px on a few dozen images.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import transferkit.engine.start as start
from tests.engine.conftest import make_image_folder
from transferkit.core.config import RunConfig
from transferkit.engine.augment_run import resolve_augment
from transferkit.engine.prepare import prepare
from transferkit.engine.run import run
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.probe import probe_splits


def _ramps(root, per_class=16, size=64, seed=0):
    """Horizontal grey ramps, dark on the left or dark on the right: a mirror swaps the classes.

    Each image has its own end values, tint and noise, so only the direction tells them apart.
    """
    rng = np.random.default_rng(seed)
    for name in ("dark_left", "dark_right"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            ramp = np.linspace(rng.uniform(0, 60), rng.uniform(180, 255), size)
            if name == "dark_right":
                ramp = ramp[::-1]
            tint = rng.uniform(0.7, 1.0, 3)
            pixels = ramp[None, :, None] * tint + rng.normal(0, 10, (size, size, 3))
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def _cfg(data, **values):
    base = dict(
        path=str(data),
        backbone="efficientnet_lite0",
        strategy="head",
        epochs=1,
        batch_size=16,
        img_size=64,
        patience=None,
        quiet=True,
        val_fraction=0.4,
        accelerator="cpu",
    )
    base.update(values)
    return RunConfig().with_values(**base)


def _check(cfg):
    """The augmentation check on ``cfg``'s data: the knob values and the check's record."""
    prepared, cache = prepare(cfg), FeatureCache()
    outcome = probe_splits(prepared.backbone, prepared.splits, cfg, cache)
    return resolve_augment(cfg, prepared, cache, outcome), prepared


def test_flips_are_turned_off_where_they_turn_one_class_into_another(tmp_path, capsys):
    cfg = _cfg(_ramps(tmp_path / "ramps"))
    result = run(cfg, tmp_path / "run")
    out = capsys.readouterr().out
    assert "augment: hflip turned off: probe accuracy" in out
    record = json.loads((result.run_dir / "augment.json").read_text())
    assert record["decided_by"] == "check" and "hflip" in record["check"]["turned_off"]
    verdict = next(v for v in record["check"]["verdicts"] if v["name"] == "hflip")
    assert verdict["clean_accuracy"] - verdict["augmented_accuracy"] > 0.5
    saved = RunConfig.load(result.run_dir / "config.yaml")
    assert saved.data.hflip == 0.0  # the resolved settings: a rerun of this config needs no check
    assert record["settings"]["hflip"] == 0.0


def test_flips_stay_on_where_they_are_harmless(tmp_path):
    (values, record), prepared = _check(_cfg(make_image_folder(tmp_path / "colours")))
    assert "hflip" not in record["turned_off"]
    assert values["hflip"] == 0.5  # the default preset's
    names = [type(t).__name__ for t in prepared.splits.train.transform.transforms]
    assert "RandomHorizontalFlip" in names


def test_a_second_check_reads_its_features_from_the_cache(tmp_path):
    cfg = _cfg(_ramps(tmp_path / "ramps"))
    (first, record), _ = _check(cfg)
    entries = len(FeatureCache().entries())
    (again, record_again), prepared = _check(cfg)
    assert len(FeatureCache().entries()) == entries  # clean and augmented: nothing new extracted
    assert again == first and record_again == record
    names = [type(t).__name__ for t in prepared.splits.train.transform.transforms]
    assert "RandomHorizontalFlip" not in names  # the training transform follows the check


@pytest.mark.parametrize("given", [{"augment": "light"}, {"hflip": 0.5}])
def test_settings_the_user_gave_skip_the_check(tmp_path, monkeypatch, given):
    fitted = []
    monkeypatch.setattr(start, "probe_splits", lambda *a, **k: fitted.append(1))
    data = make_image_folder(tmp_path / "colours", per_class=6)
    cfg = _cfg(data, init="random", **given)
    prepared = prepare(cfg)
    resolved, begun = start.begin(cfg, tmp_path / "run", prepared, FeatureCache())
    assert fitted == [] and begun.init == "random"
    record = json.loads((tmp_path / "run" / "augment.json").read_text())
    assert record["decided_by"] == "your settings" and record["check"] is None
    expected = {"augment": "light"} if "augment" in given else {"hflip": 0.5, "jitter": 0.2}
    for key, value in expected.items():
        assert getattr(resolved.data, key) == value

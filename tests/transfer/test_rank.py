"""Backbone ranking: scores from cached features, skipped rows, rank.json, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import transferkit.zoo
from tests.tiny import TinyBackbone
from transferkit.cli.main import main
from transferkit.core.errors import BackboneNotFoundError, WeightsUnavailableError
from transferkit.data.images import load_image_rgb
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer import scores
from transferkit.transfer.rank import load_labelled, rank


class BlindBackbone(TinyBackbone):
    """Sees a blank image whatever it is given: features carry no information about labels."""

    name = "blind"

    def forward_pooled(self, x):
        return super().forward_pooled(torch.zeros_like(x)) + 1e-3 * x.mean(dim=(1, 2, 3))[:, None]


@pytest.fixture
def fake_zoo(monkeypatch):
    made = []

    def create_backbone(name, weights="auto", keep_source_head=False, **kwargs):
        made.append((name, weights, keep_source_head))
        if name == "nope":
            raise BackboneNotFoundError("unknown backbone 'nope'. Did you mean 'tiny'?")
        if name == "noweights":
            raise WeightsUnavailableError("no weights for 'noweights' (looked in /store)")
        torch.manual_seed(0)
        return BlindBackbone() if name == "blind" else TinyBackbone()

    monkeypatch.setattr(transferkit.zoo, "create_backbone", create_backbone, raising=False)
    return made


def _folder(root, classes=("red", "green", "blue"), n=8):
    rng = np.random.default_rng(0)
    colours = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            img = np.clip(np.array(colours[name]) + rng.normal(0, 40, (32, 32, 3)), 0, 255)
            Image.fromarray(img.astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_rank_sorts_scores_skips_what_cannot_load_and_writes_rank_json(tmp_path, fake_zoo):
    data = _folder(tmp_path / "data")
    rows = rank(data, "blind,nope,tiny,noweights", out=tmp_path / "out", progress=False)
    assert [r["backbone"] for r in rows] == ["tiny", "blind", "nope", "noweights"]
    assert [r.get("rank") for r in rows] == [1, 2, None, None]
    assert rows[2]["status"] == "skipped" and "Did you mean 'tiny'" in rows[2]["reason"]
    assert "looked in /store" in rows[3]["reason"]

    # the score is LogME of a plain forward pass over every labelled image
    paths, labels, _ = load_labelled(data)
    torch.manual_seed(0)
    bb = TinyBackbone().eval()
    t = eval_transform(bb.data_config)
    with torch.no_grad():
        feats = bb.forward_pooled(torch.stack([t(load_image_rgb(p)) for p in paths]))
    assert rows[0]["score"] == pytest.approx(scores.logme(feats, labels), abs=1e-6)
    assert rows[0]["extracted"] == 24 and rows[0]["dim"] == 32

    saved = json.loads((tmp_path / "out" / "rank.json").read_text())
    assert saved["images"] == 24 and saved["classes"] == ["blue", "green", "red"]
    assert saved["rows"] == rows

    again = rank(data, ["tiny"], progress=False)  # features now come from the cache
    assert again[0]["extracted"] == 0 and again[0]["score"] == rows[0]["score"]


def test_leep_asks_for_the_source_head_and_skips_backbones_without_one(tmp_path, fake_zoo):
    rows = rank(_folder(tmp_path / "data"), "tiny", metric="leep", progress=False)
    assert fake_zoo[-1] == ("tiny", "auto", True)
    assert rows[0]["status"] == "skipped" and "ImageNet classifier head" in rows[0]["reason"]


def test_cli_rank_table_and_bad_input(tmp_path, fake_zoo, capsys):
    data = _folder(tmp_path / "data")
    assert (
        main(
            [
                "rank",
                "--data",
                str(data),
                "--backbones",
                "tiny,nope",
                "--out",
                str(tmp_path / "o"),
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "tiny" in out and "skipped: unknown backbone 'nope'" in out
    assert (tmp_path / "o" / "rank.json").is_file()

    one = _folder(tmp_path / "one", classes=("red",))
    assert main(["rank", "--data", str(one), "--backbones", "tiny", "--quiet"]) == 2
    assert "at least 2 classes" in capsys.readouterr().err
    assert main(["rank", "--data", str(data), "--backbones", "tiny", "--metric", "logm"]) == 2
    assert "Did you mean 'logme'" in capsys.readouterr().err


FASHION = "/work/shared/data/fashion-mnist"


@pytest.fixture
def fashion_folder(tmp_path):
    """6 test-set images of each of the 10 Fashion-MNIST classes, as PNGs."""
    from pathlib import Path

    from transferkit.data.demo.fashion import read_idx

    images = read_idx(Path(FASHION) / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(Path(FASHION) / "t10k-labels-idx1-ubyte.gz")
    for c in range(10):
        folder = tmp_path / "fm" / f"class{c}"
        folder.mkdir(parents=True)
        for i in np.flatnonzero(labels == c)[:6]:
            Image.fromarray(images[i]).save(folder / f"{i}.png")
    return tmp_path / "fm"


def test_real_pretrained_weights_outrank_random_init(fashion_folder):
    pretrained = rank(fashion_folder, "efficientnet_lite0", img_size=64, progress=False)
    scratch = rank(
        fashion_folder, "efficientnet_lite0", weights="none", img_size=64, progress=False
    )
    assert pretrained[0]["status"] == scratch[0]["status"] == "ok"
    assert pretrained[0]["score"] > scratch[0]["score"] + 0.05
    leep = rank(fashion_folder, "efficientnet_lite0", metric="leep", img_size=64, progress=False)
    # the ImageNet head's predictions carry information about the clothing classes: the expected
    # empirical predictor beats the uniform guess log(1/10)
    assert leep[0]["extracted"] == 0  # same features as the LogME ranking: served by the cache
    assert np.log(0.1) < leep[0]["score"] < 0


def test_local_means_every_backbone_with_offline_weights(monkeypatch):
    from types import SimpleNamespace

    import transferkit.zoo.weights.store
    from transferkit.core.errors import ConfigError
    from transferkit.transfer.rank import parse_backbones

    rows = [
        SimpleNamespace(name="a", canonical="timm:a", weights_local=True),
        SimpleNamespace(name="b", canonical="tv:b", weights_local=False),
        SimpleNamespace(name="c", canonical="timm:c", weights_local=True),
    ]
    entries = [SimpleNamespace(name="timm:c"), SimpleNamespace(name="tv:d")]
    monkeypatch.setattr(transferkit.zoo, "list_backbones", lambda: rows)
    monkeypatch.setattr(transferkit.zoo.weights.store, "list_entries", lambda: entries)
    assert parse_backbones("local") == ["a", "c", "tv:d"]
    assert parse_backbones(" x, y ,x") == ["x", "y"]
    monkeypatch.setattr(transferkit.zoo, "list_backbones", lambda: rows[1:2])
    monkeypatch.setattr(transferkit.zoo.weights.store, "list_entries", lambda: [])
    with pytest.raises(ConfigError, match="no backbone has pretrained weights"):
        parse_backbones("local")

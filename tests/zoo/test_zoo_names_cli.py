"""Backbone names (aliases, did-you-mean), list_backbones and the zoo / weights commands."""

from __future__ import annotations

import pytest
import torch

from transferkit.cli.main import main
from transferkit.core.errors import BackboneNotFoundError
from transferkit.zoo import list_backbones, resolve_backbone_name
from transferkit.zoo.aliases import ALIASES


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("efficientnet_lite0", "timm:tf_efficientnet_lite0.in1k"),
        ("ResNet50", "tv:resnet50"),
        ("tv:vit_b_16", "tv:vit_b_16"),
        ("timm:resnet50", "timm:resnet50.a1_in1k"),  # timm's default tag
        ("timm:resnet50.tv_in1k", "timm:resnet50.tv_in1k"),
        (" vgg16 ", "tv:vgg16"),
    ],
)
def test_resolve(name, canonical):
    assert resolve_backbone_name(name) == canonical


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("resnet5", "Did you mean 'resnet50'"),
        ("efficientnet_lite", "'efficientnet_lite0'"),
        ("timm:resnt50", "Did you mean 'timm:resnet50'"),
        ("tv:mobilenet_v4", "'tv:mobilenet_v2'"),
        ("timm:resnet50.in22k", "its tags: a1_in1k"),
        ("resnet101", "exists as 'timm:resnet101' and 'tv:resnet101'"),
        ("torch:resnet50", "valid sources: timm, tv"),
    ],
)
def test_unknown_names_suggest(name, expected):
    with pytest.raises(BackboneNotFoundError) as info:
        resolve_backbone_name(name)
    assert expected in str(info.value) and isinstance(info.value, KeyError)
    assert "zoo list" in info.value.hint


def test_list_backbones_default_rows():
    rows = {r.name: r for r in list_backbones()}
    assert list(rows) == list(ALIASES)
    lite = rows["efficientnet_lite0"]
    assert (lite.weights, lite.weights_local, lite.licence) == ("built-in", True, "Apache-2.0")
    assert not rows["resnet18"].weights_local and rows["resnet18"].weights == "no"
    # Counted independently: torchvision's ResNet-18 without its 512x1000 classifier.
    from torchvision.models import resnet18

    with torch.device("meta"):
        full = sum(p.numel() for p in resnet18().parameters())
    assert rows["resnet18"].parameters == full - (512 * 1000 + 1000)


def test_list_backbones_pattern():
    names = [r.name for r in list_backbones("tv:resnet1*")]
    assert names == ["resnet18", "tv:resnet101", "tv:resnet152"]
    names = [r.name for r in list_backbones("LITE1")]  # case-insensitive substring
    assert names[0] == "efficientnet_lite1" and "timm:efficientnet_lite1" in names
    assert "timm:tf_efficientnet_lite1" not in names  # listed once, under its short name
    assert list_backbones("no-such-model") == []


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_zoo_list(capsys):
    code, out, _ = run_cli(capsys, "zoo", "list")
    assert code == 0 and "efficientnet_lite0" in out and "built-in" in out and "vit_b_16" in out
    code, out, _ = run_cli(capsys, "zoo", "list", "no-such-model")
    assert code == 0 and "no backbone matches" in out


def test_cli_weights_add_list_and_errors(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "weights", "list")
    assert code == 0 and "no weights stored" in out

    from transferkit.zoo import create_backbone

    path = tmp_path / "r18.pth"
    torch.save(create_backbone("tv:resnet18", weights="none").model.state_dict(), path)
    code, out, _ = run_cli(capsys, "weights", "add", "resnet18", str(path))
    assert code == 0 and "stored tv:resnet18" in out and "without the pretraining classifier" in out
    code, out, _ = run_cli(capsys, "weights", "list")
    assert code == 0 and "tv:resnet18" in out

    code, _, err = run_cli(capsys, "weights", "add", "tv:resnet34", str(path))
    assert code == 2 and err.startswith("error: weights file") and "missing" in err
    code, _, err = run_cli(capsys, "weights", "add", "resnt18", str(path))
    assert code == 2 and "Did you mean 'resnet18'" in err and "hint:" in err
    code, _, err = run_cli(capsys, "weights", "add", "resnet18", str(tmp_path / "none.pth"))
    assert code == 2 and "does not exist" in err

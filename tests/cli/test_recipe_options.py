"""`--init` and the augmentation options at the door: bad values exit 2 with one line and a hint;
`plan` says how the head starts."""

from __future__ import annotations

import pytest

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError

SMALL = ["--backbone", "timm:resnet18", "--weights", "none", "--epochs", "1", "--quiet"]


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=4)


@pytest.mark.parametrize(
    "flags, needles",
    [
        (["--augment", "wild"], ["invalid augment 'wild'", "none, light, default, strong, auto"]),
        (["--hflip", "1.5"], ["invalid hflip 1.5", "probability in [0, 1]", "--hflip 0.5"]),
        (["--jitter", "-0.1"], ["invalid jitter -0.1", "--jitter"]),
        (["--rotation", "200"], ["invalid rotation 200", "degrees"]),
        (["--crop-scale", "0.9", "0.2"], ["invalid crop_scale 0.9 0.2", "0 < MIN <= MAX <= 1"]),
        (["--crop-scale", "0.9,0.2"], ["invalid crop_scale 0.9 0.2", "--crop-scale 0.8 1.0"]),
        (["--crop-scale", "0.5"], ["invalid crop_scale", "two numbers MIN MAX"]),
        (["--init", "probe", "--head", "mlp"], ["--init probe cannot apply", "--head mlp"]),
        (["--init", "probe", "--task", "segment"], ["--init probe cannot apply", "'segment'"]),
        (
            ["--crop-scale", "0.8", "1", "--task", "segment"],
            ["--crop-scale cannot apply to semantic segmentation", "--augment none|light"],
        ),
        (["--rotation", "10", "--task", "detect"], ["--rotation cannot apply", "'detect'"]),
    ],
)
def test_bad_recipe_options_exit_2_with_one_line_and_a_hint(capsys, data, flags, needles):
    code = main(["train", "--data", str(data), *SMALL, *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    for needle in needles:
        assert needle in err, err


def test_crop_scale_reads_both_spellings_and_yaml_lists(tmp_path):
    from transferkit.cli.main import build_parser
    from transferkit.cli.train_cmd import config_from_args

    parser = build_parser()
    for argv in (["--crop-scale", "0.8", "1"], ["--crop-scale", "0.8,1"]):
        args = parser.parse_args(["train", *argv])
        assert config_from_args(args).data.crop_scale == [0.8, 1.0]
    cfg = RunConfig().with_values(crop_scale=(0.5, 0.9), hflip=0.0, augment="strong")
    cfg.save(tmp_path / "config.yaml")
    again = RunConfig.load(tmp_path / "config.yaml")
    assert again == cfg and again.data.crop_scale == [0.5, 0.9]
    with pytest.raises(ConfigError, match="invalid crop_scale"):
        RunConfig().with_values(crop_scale=[0.5, 0.6, 0.7])


def test_plan_says_how_the_head_starts(capsys):
    plan = ["plan", "--backbone", "timm:resnet18", "--epochs", "2"]
    assert main(plan) == 0
    assert "head init: probe (L2 chosen on val)" in capsys.readouterr().out
    assert main([*plan, "--init", "random"]) == 0
    assert "head init: random\n" in capsys.readouterr().out
    assert main([*plan, "--head", "mlp"]) == 0
    out = capsys.readouterr().out
    assert "head init: random (the probe initialises a linear head, not --head mlp)" in out
    assert main([*plan, "--head", "mlp", "--init", "probe"]) == 2
    assert "--init probe cannot apply" in capsys.readouterr().err


def test_the_config_knows_every_augmentation_preset():
    from transferkit.core.config import DataSettings
    from transferkit.core.recipe import AUGMENTS
    from transferkit.data.augment import AUGMENT_CHOICES, KNOBS

    assert set(AUGMENTS) == set(AUGMENT_CHOICES)
    assert set(KNOBS) <= {f for f in DataSettings.__dataclass_fields__}

"""A finished run as the start of the next: ``--backbone run:RUNDIR`` (any task) and ``--init-from``
(classification, head rows by class name). A tiny timm model, random init, trained one epoch, so
that its weights differ from any fresh initialisation."""

from __future__ import annotations

import pytest
import torch
import yaml

import transferkit.api as api
from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.engine.prepare import prepare
from transferkit.engine.start import begin
from transferkit.runs.carry import carry_config, create_backbone
from transferkit.runs.rundir import load_run
from transferkit.tasks import get_task
from transferkit.transfer.probe import linear_head

ARCH = "timm:test_efficientnet"
SETTINGS = dict(batch_size=8, img_size=32, quiet=True, augment="none", strategy="full")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A finished classification run on red / green / blue, and a new data set blue / grey / red."""
    root = tmp_path_factory.mktemp("carry")
    make_image_folder(root / "a", per_class=8)
    make_image_folder(root / "b", classes=("blue", "grey", "red"), per_class=8, seed=1)
    api.fit(root / "a", root / "run", backbone=ARCH, weights="none", epochs=1, **SETTINGS)
    return root


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_run_backbone_starts_another_task_with_its_weights_and_preprocessing(source):
    run = load_run(source / "run")
    cfg = carry_config(RunConfig(task="segment").with_values(backbone=f"run:{source / 'run'}"))
    assert cfg.model.backbone == run.model.backbone.name  # a real architecture in config.yaml
    assert cfg.model.weights == f"run:{(source / 'run').resolve()}"
    backbone = create_backbone(cfg.model.backbone, cfg.model.weights)
    model = get_task("segment").build_model(backbone, 3, cfg.model)  # before any step
    trained = run.model.backbone.state_dict()
    assert _same(model.backbone.state_dict(), trained)
    assert not _same(create_backbone(ARCH, "none").state_dict(), trained)  # the test can fail
    assert backbone.data_config == run.data_config
    assert backbone.weights_info["source"] == "run"


def test_init_from_keeps_rows_by_class_name_and_adds_new_ones(source):
    cfg = carry_config(
        RunConfig().with_values(
            path=str(source / "b"),
            backbone=f"run:{source / 'run'}",
            init_from=str(source / "run"),
            epochs=1,
            **SETTINGS,
        )
    )
    prepared = prepare(cfg)
    cfg, start = begin(cfg, source / "unused", prepared, None)
    assert start.init == "run" and "kept 2 (blue, red), new 1 (grey)" in start.label
    model = prepared.task.build_model(prepared.backbone, 3, cfg.model)
    start.load(model)  # what the loop does before its first step
    old, new = load_run(source / "run"), linear_head(model)
    old_head = linear_head(old.model)
    names = prepared.splits.class_names
    assert names == ["blue", "grey", "red"]
    for name in ("blue", "red"):
        i, j = old.class_names.index(name), names.index(name)
        assert torch.equal(new.weight[j], old_head.weight[i])
        assert torch.equal(new.bias[j], old_head.bias[i])
    grey = new.weight[names.index("grey")]
    assert not any(torch.equal(grey, row) for row in old_head.weight)
    assert _same(model.backbone.state_dict(), old.model.backbone.state_dict())


def test_cli_init_from_trains_and_records_the_mapping(source, capsys):
    out = source / "continued"
    code = main(
        [
            "train",
            "--data",
            str(source / "b"),
            "--init-from",
            str(source / "run"),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--img-size",
            "32",
            "--quiet",
            "--augment",
            "none",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    plan = (out / "plan.json").read_text()
    assert "kept 2 (blue, red), new 1 (grey), dropped 1 (green)" in plan
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["model"]["backbone"] == load_run(source / "run").model.backbone.name
    assert config["transfer"]["init"] == "run"


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_bad_carry_input_is_one_line_and_a_hint(source, capsys, tmp_path):
    data = str(source / "b")
    plain = tmp_path / "plain"
    plain.mkdir()
    code, err = _error(capsys, ["train", "--data", data, "--backbone", f"run:{plain}"])
    assert code == 2 and len(err) == 2 and "not a transferkit run" in err[0]
    assert err[1].startswith("hint:")
    argv = [
        "train",
        "--data",
        data,
        "--init-from",
        str(source / "run"),
        "--backbone",
        "tv:resnet18",
    ]
    code, err = _error(capsys, argv)
    assert code == 2 and len(err) == 2 and "trained backbone" in err[0] and "tv:resnet18" in err[0]
    # A run whose checkpoint does not fit the backbone it names: incompatible.
    edited = tmp_path / "edited"
    edited.mkdir()
    for f in ("classes.json", "config.yaml", "checkpoints"):
        src = source / "run" / f
        if src.is_dir():
            (edited / f).mkdir()
            for c in src.iterdir():
                (edited / f / c.name).write_bytes(c.read_bytes())
        else:
            (edited / f).write_text(src.read_text())
    cfg = (
        (edited / "config.yaml")
        .read_text()
        .replace(load_run(source / "run").config.model.backbone, "timm:test_resnet")
    )
    (edited / "config.yaml").write_text(cfg)
    code, err = _error(capsys, ["train", "--data", data, "--backbone", f"run:{edited}"])
    assert code == 2 and len(err) == 2 and "another architecture" in err[1]

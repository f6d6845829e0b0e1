"""Every bad input of `transferkit train` gives one clear line, a hint, exit status 2, no traceback."""

from __future__ import annotations

import pytest

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main

SMALL = [
    "--backbone",
    "timm:resnet18",
    "--weights",
    "none",
    "--epochs",
    "1",
    "--img-size",
    "32",
    "--quiet",
]


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_user_error(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6)


def test_missing_data_path(capsys, tmp_path):
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "nope"), *SMALL)
    _assert_user_error(code, err, "data path not found", str(tmp_path / "nope"))


def test_no_data_given(capsys):
    code, _, err = _run(capsys, "train", *SMALL)
    _assert_user_error(code, err, "no data given", "--data")


def test_empty_class_folder(capsys, data):
    (data / "purple").mkdir()
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL)
    _assert_user_error(code, err, "purple")


def test_single_class(capsys, tmp_path):
    one = make_image_folder(tmp_path / "one", classes=("red",), per_class=6)
    code, _, err = _run(capsys, "train", "--data", str(one), *SMALL)
    _assert_user_error(code, err, "class")


def test_val_class_missing_from_train(capsys, tmp_path):
    root = make_image_folder(tmp_path / "d", per_class=4, splits=["train", "val"])
    make_image_folder(root / "val", classes=("grey",), per_class=2)
    code, _, err = _run(capsys, "train", "--data", str(root), *SMALL)
    _assert_user_error(code, err, "grey")


def test_corrupt_image_fails_by_default_and_skip_counts_it(capsys, data, tmp_path):
    (data / "red" / "broken.png").write_bytes(b"not a png at all")
    (data / "red" / "empty.jpg").write_bytes(b"")
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL)
    _assert_user_error(code, err, "broken.png", "--on-bad-image skip")
    out_dir = tmp_path / "run"
    code, _, err = _run(
        capsys,
        "train",
        "--data",
        str(data),
        *SMALL,
        "--on-bad-image",
        "skip",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    import json

    summary = json.loads((out_dir / "data.json").read_text())
    assert summary["skipped"] == 2
    assert sorted(p["path"].rsplit("/", 1)[1] for p in summary["skipped_files"]) == [
        "broken.png",
        "empty.jpg",
    ]


def test_unknown_backbone_did_you_mean(capsys, data):
    code, _, err = _run(
        capsys, "train", "--data", str(data), "--backbone", "resnet5O", "--epochs", "1"
    )
    _assert_user_error(code, err, "resnet5O", "Did you mean")


def test_unknown_strategy(capsys, data):
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL, "--strategy", "fulll")
    _assert_user_error(code, err, "fulll", "Did you mean 'full'")


def test_partial_beyond_stage_count(capsys, data):
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL, "--strategy", "partial:99")
    _assert_user_error(code, err, "partial:99", "got 99")


def test_missing_weights_offline(capsys, data):
    code, _, err = _run(
        capsys, "train", "--data", str(data), "--backbone", "timm:resnet18", "--epochs", "1"
    )
    _assert_user_error(code, err, "transferkit weights add", "--weights none")


def test_resume_on_a_folder_that_is_not_a_run(capsys, tmp_path):
    code, _, err = _run(capsys, "train", "--resume", str(tmp_path))
    _assert_user_error(code, err, "not a transferkit run directory")


def test_config_with_unknown_key(capsys, data, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  epoch: 3\n")
    code, _, err = _run(capsys, "train", "--data", str(data), "--config", str(cfg))
    _assert_user_error(code, err, "epoch", "Did you mean 'epochs'")


def test_existing_run_is_not_overwritten(capsys, data, tmp_path):
    out_dir = tmp_path / "run"
    assert _run(capsys, "train", "--data", str(data), *SMALL, "--out", str(out_dir))[0] == 0
    before = (out_dir / "checkpoints" / "best.safetensors").read_bytes()
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL, "--out", str(out_dir))
    _assert_user_error(code, err, "already holds a run", "--resume")
    assert (out_dir / "checkpoints" / "best.safetensors").read_bytes() == before


def test_the_api_refuses_an_existing_run_as_the_cli_does(capsys, data, tmp_path):
    from transferkit.api import fit
    from transferkit.core.errors import RunDirError

    out_dir = tmp_path / "run"
    assert _run(capsys, "train", "--data", str(data), *SMALL, "--out", str(out_dir))[0] == 0
    before = {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()}
    settings = dict(backbone="timm:resnet18", weights="none", epochs=1, img_size=32, quiet=True)
    with pytest.raises(RunDirError, match="already holds a run") as caught:
        fit(data, out=out_dir, **settings)
    assert "resume" in caught.value.hint
    assert {p: p.read_bytes() for p in out_dir.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("task", ["detect", "segment", "instance"])
def test_strategy_auto_is_refused_up_front_for_other_tasks(capsys, data, tmp_path, task):
    out_dir = tmp_path / "run"
    argv = ["train", "--task", task, "--data", str(data), *SMALL, "--strategy", "auto"]
    code, _, err = _run(capsys, *argv, "--out", str(out_dir))
    _assert_user_error(code, err, "strategy 'auto' is for classification", "--strategy head")
    assert len(err.strip().splitlines()) == 2  # one line and its hint
    assert not out_dir.exists()


def test_non_image_files_are_ignored_and_counted(capsys, data, tmp_path):
    (data / "red" / "notes.txt").write_text("hello")
    (data / "green" / "Thumbs.db").write_bytes(b"\0\1")
    out_dir = tmp_path / "run"
    code, _, err = _run(capsys, "train", "--data", str(data), *SMALL, "--out", str(out_dir))
    assert code == 0, err
    import json

    assert json.loads((out_dir / "data.json").read_text())["ignored_files"] == 2

"""Bad uses of ``--unlabelled``, ``--adapt`` and ``--semi``: one line, a hint, exit status 2."""

from __future__ import annotations

import pytest

from tests.cli.test_train_errors import _assert_user_error, _run
from tests.engine.conftest import make_image_folder

SMALL = ["--weights", "none", "--epochs", "1", "--img-size", "32", "--quiet"]


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6)


def test_a_missing_unlabelled_folder(capsys, data, tmp_path):
    code, _, err = _run(
        capsys, "train", "--data", str(data), "--unlabelled", str(tmp_path / "nowhere"),
        "--backbone", "timm:test_resnet", *SMALL, "--out", str(tmp_path / "run"),
    )  # fmt: skip
    _assert_user_error(code, err, "unlabelled path not found", "nowhere", "hint:")


def test_an_empty_unlabelled_folder(capsys, data, tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images here")
    code, _, err = _run(
        capsys, "train", "--data", str(data), "--unlabelled", str(tmp_path / "empty"),
        "--backbone", "timm:test_resnet", *SMALL, "--out", str(tmp_path / "run"),
    )  # fmt: skip
    _assert_user_error(code, err, "no image files", "hint:")


def test_adapt_bn_on_a_backbone_without_batchnorm(capsys, data, tmp_path):
    pool = make_image_folder(tmp_path / "pool", per_class=2)
    code, _, err = _run(
        capsys, "train", "--data", str(data), "--unlabelled", str(pool), "--adapt", "bn",
        "--backbone", "timm:test_vit", *SMALL, "--out", str(tmp_path / "run"),
    )  # fmt: skip
    _assert_user_error(code, err, "no BatchNorm", "timm:test_vit", "hint:")


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--task", "segment", "--unlabelled", "POOL"], "classification only"),
        (["--adapt", "bn"], "none were given"),
        (["--semi", "self-training"], "none were given"),
        (["--unlabelled", "POOL", "--strategy", "auto"], "--strategy auto with --unlabelled"),
    ],
)
def test_options_refused_before_any_work(capsys, data, tmp_path, argv, needle):
    argv = [str(tmp_path) if a == "POOL" else a for a in argv]
    code, _, err = _run(capsys, "train", "--data", str(data), *argv, *SMALL)
    _assert_user_error(code, err, needle, "hint:")


def test_compare_unlabelled_is_refused(capsys, data, tmp_path):
    code, _, err = _run(
        capsys, "compare", "--data", str(data), "--unlabelled", str(tmp_path),
        "--out", str(tmp_path / "cmp"),
    )  # fmt: skip
    _assert_user_error(code, err, "compare --unlabelled", "semi.json")

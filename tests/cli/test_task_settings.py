"""Settings that do not fit the task are refused up front: exit 2, one line, a hint, no run.

``--weights coco`` on a task without COCO-trained models used to train from random init while
printing "weights: coco"; ``--head linear`` on ``--task segment`` used to become FPN silently.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import make_image_folder
from tests.segment.helpers import blob_mask, write_pair
from transferkit.cli.main import main

SMALL = ["--backbone", "timm:resnet18", "--epochs", "1", "--img-size", "32", "--quiet"]


def _user_error(capsys, *argv) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "hint: " in err
    return err


@pytest.fixture
def images(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6)


@pytest.fixture
def masks(tmp_path):
    root = tmp_path / "masks"
    for i in range(4):
        write_pair(root, f"img{i}", blob_mask(i, 32))
    (root / "classes.txt").write_text("background\nleaf\nstem\n")
    return root


def test_weights_coco_is_refused_for_classification(capsys, images, tmp_path):
    out = tmp_path / "run"
    err = _user_error(
        capsys, "train", "--data", str(images), *SMALL, "--weights", "coco", "--out", str(out)
    )
    assert "no COCO-trained weights for task 'classify'" in err
    assert "--weights auto" in err
    assert not (out / "checkpoints").exists()


def test_weights_coco_is_refused_for_segmentation(capsys, masks, tmp_path):
    argv = ["train", "--task", "segment", "--data", str(masks), *SMALL, "--weights", "coco"]
    err = _user_error(capsys, *argv, "--out", str(tmp_path / "run"))
    assert "no COCO-trained weights for task 'segment'" in err


def test_a_classification_head_is_refused_for_segmentation(capsys, masks, tmp_path):
    argv = ["train", "--task", "segment", "--data", str(masks), *SMALL, "--weights", "none"]
    err = _user_error(capsys, *argv, "--head", "linear", "--out", str(tmp_path / "run"))
    assert "unknown segmentation head 'linear'" in err
    assert "fpn, unet, deeplabv3" in err and "default fpn" in err


def test_a_segmentation_head_is_refused_for_classification(capsys, images, tmp_path):
    argv = ["train", "--data", str(images), *SMALL, "--weights", "none", "--head", "unet"]
    err = _user_error(capsys, *argv, "--out", str(tmp_path / "run"))
    assert "unknown classification head 'unet'" in err
    assert "linear, mlp" in err and "default linear" in err

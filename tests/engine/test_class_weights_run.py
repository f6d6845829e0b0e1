"""``--class-weights``: the weighted loss by hand, the unweighted validation loss, the run record,
and the door (bad values and tasks without weights are refused with one line and a hint)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.engine.loop import fit
from transferkit.tasks.classify import TASK

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, 1.0, 3.0]])
TARGET = torch.tensor([0, 2, 1, 2])
WEIGHTS = (0.5, 2.0, 1.25)


def _model(images):
    return LOGITS.clone()


def _hand_weighted_ce(logits, target, weights):
    """sum_i w[y_i] * (-log softmax(logits_i)[y_i]) / sum_i w[y_i], written out."""
    total, norm = 0.0, 0.0
    for row, y in zip(logits.tolist(), target.tolist()):
        log_z = torch.logsumexp(torch.tensor(row), 0).item()
        total += weights[y] * (log_z - row[y])
        norm += weights[y]
    return total / norm


def test_weighted_training_loss_equals_the_hand_computed_one():
    weighted = TASK.with_class_weights(WEIGHTS)
    loss = weighted.training_loss(_model, (torch.zeros(4, 3, 8, 8), TARGET))
    assert loss.item() == pytest.approx(_hand_weighted_ce(LOGITS, TARGET, WEIGHTS), rel=1e-6)
    plain = F.cross_entropy(LOGITS, TARGET).item()
    assert loss.item() != pytest.approx(plain, rel=1e-3)
    # The registered task object is never changed: it still trains unweighted.
    assert TASK.class_weights is None
    assert TASK.training_loss(_model, (None, TARGET)).item() == pytest.approx(plain)


def test_validation_loss_stays_unweighted():
    weighted = TASK.with_class_weights(WEIGHTS)
    metrics = weighted.make_metrics(["a", "b", "c"])
    val_loss = weighted.evaluation_step(_model, (torch.zeros(4, 3, 8, 8), TARGET), metrics)
    assert val_loss.item() == pytest.approx(F.cross_entropy(LOGITS, TARGET).item())


def _imbalanced(root):
    for name, n in (("red", 20), ("green", 5), ("blue", 10)):
        make_image_folder(root, classes=(name,), per_class=n, seed=len(name))
    return root


def test_a_run_records_the_weights_of_its_train_split(tmp_path, tiny_zoo):
    data = _imbalanced(tmp_path / "data")
    cfg = RunConfig().with_values(
        path=str(data), backbone="tiny", weights="none", strategy="head", epochs=1,
        batch_size=8, quiet=True, img_size=32, class_weights="auto",
    )  # fmt: skip
    run = fit(cfg, tmp_path / "run").run_dir
    summary = json.loads((run / "data.json").read_text())
    train = summary["counts"]["train"]
    n, k = sum(train.values()), len(train)
    assert summary["class_weights"] == pytest.approx({c: n / (k * m) for c, m in train.items()})
    assert summary["class_weights"]["green"] > summary["class_weights"]["red"]
    assert RunConfig.load(run / "config.yaml").train.class_weights == "auto"


def test_unweighted_run_records_no_weights(tmp_path, tiny_zoo):
    data = _imbalanced(tmp_path / "data")
    cfg = RunConfig().with_values(
        path=str(data), backbone="tiny", weights="none", strategy="head", epochs=1,
        batch_size=8, quiet=True, img_size=32,
    )  # fmt: skip
    run = fit(cfg, tmp_path / "run").run_dir
    assert "class_weights" not in json.loads((run / "data.json").read_text())


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"class_weights": "balanced"}, "invalid class_weights 'balanced'"),
        ({"class_weights": 1}, "invalid class_weights 1"),
        ({"task": "segment", "class_weights": "auto"}, "classification only"),
        ({"task": "detect", "class_weights": "auto"}, "not task 'detect'"),
    ],
)
def test_the_config_refuses_bad_values(values, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        RunConfig().with_values(**values)
    assert info.value.hint


@pytest.mark.parametrize("value", ["balanced", "AUTO", ""])
def test_the_cli_refuses_bad_values_with_one_line_and_a_hint(capsys, tmp_path, value):
    data = make_image_folder(tmp_path / "data", per_class=4)
    code = main(["train", "--data", str(data), "--class-weights", value, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and "class_weights" in lines[0]
    assert lines[1].startswith("hint: ") and "auto" in lines[1]
    assert "Traceback" not in err

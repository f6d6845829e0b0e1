"""--budget: epochs or minutes, checked at the door the same way from the CLI, the API and YAML."""

from __future__ import annotations

import pytest

from transferkit import api
from transferkit.cli.main import main
from transferkit.core.budget import Budget, epochs_for_minutes, parse_budget
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, Budget("epochs", 12)),
        ("12", Budget("epochs", 12)),
        ("5m", Budget("minutes", 5.0)),
        ("2.5m", Budget("minutes", 2.5)),
        ("10 min", Budget("minutes", 10.0)),
        (None, Budget("epochs", 30)),  # the default: 3 x the run's 10 epochs
    ],
)
def test_a_budget_is_epochs_or_minutes(value, expected):
    assert parse_budget(value, epochs=10) == expected


@pytest.mark.parametrize("value", [0, -3, "0", "-3", "abc", "0m", "-1m", 2.5, True, "5h", ""])
def test_a_bad_budget_is_refused_with_the_value_and_a_hint(value):
    with pytest.raises(ConfigError, match="invalid budget") as caught:
        RunConfig().with_values(budget=value)
    assert repr(value) in str(caught.value)
    assert "--budget 12" in caught.value.hint and "--budget 5m" in caught.value.hint


def test_the_budget_lands_in_the_config_and_its_yaml(tmp_path):
    cfg = RunConfig().with_values(strategy="auto", budget="5m")
    cfg.save(tmp_path / "config.yaml")
    assert RunConfig.load(tmp_path / "config.yaml").transfer.budget == "5m"
    (tmp_path / "bad.yaml").write_text("transfer:\n  strategy: auto\n  budget: abc\n")
    with pytest.raises(ConfigError, match="invalid budget 'abc'"):
        RunConfig.load(tmp_path / "bad.yaml")


def test_the_api_takes_the_budget_keyword(tmp_path):
    with pytest.raises(ConfigError, match="invalid budget -3"):
        api.fit(data=tmp_path, out=tmp_path / "run", strategy="auto", budget=-3)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["0", "-3", "abc"])
def test_the_cli_refuses_a_bad_budget_in_one_line_and_a_hint(capsys, tmp_path, value):
    code = main(["train", "--data", str(tmp_path), "--strategy", "auto", "--budget", value])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: invalid budget")
    assert lines[1].startswith("hint: ") and "Traceback" not in err


def test_the_cli_passes_whole_numbers_as_epochs():
    from transferkit.cli.main import build_parser
    from transferkit.cli.train_cmd import config_from_args

    args = build_parser().parse_args(["train", "--strategy", "auto", "--budget", "12"])
    assert config_from_args(args).transfer.budget == 12
    args = build_parser().parse_args(["train", "--strategy", "auto", "--budget", "5m"])
    assert config_from_args(args).transfer.budget == "5m"


def test_minutes_become_the_epochs_that_fit():
    # 1 minute, 12 s already spent, 8 s per epoch measured: 6 more epochs fit, plus the timed one
    assert epochs_for_minutes(1.0, elapsed=12.0, seconds_per_epoch=8.0) == 7
    assert epochs_for_minutes(0.1, elapsed=30.0, seconds_per_epoch=8.0) == 1  # never below one

"""Multi-label ``rank`` (LogME per label, averaged) and ``data check --task multilabel``."""

from __future__ import annotations

import json

import pytest
import torch

from tests.multilabel.helpers import label_sets, make_csv, make_folder
from transferkit.cli.main import main
from transferkit.core.errors import ConfigError
from transferkit.data.check.dataset import check_dataset
from transferkit.transfer.scores import compute_score, logme, logme_multilabel


def test_logme_per_label_is_single_label_logme_on_its_columns():
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(40, 6, generator=gen)
    y = (f[:, 0] > 0).long()
    both = torch.stack([y == 0, y == 1], 1).float()  # one column per class: the same regressions
    assert logme_multilabel(f, both) == pytest.approx(logme(f, y))
    informative = torch.stack([(f[:, 0] > 0), (f[:, 1] > 0)], 1).float()
    noise = (torch.rand(40, 2, generator=gen) > 0.5).float()
    assert compute_score("logme", f, informative) > compute_score("logme", f, noise)
    with pytest.raises(ConfigError, match="multi-label data is ranked by logme"):
        compute_score("hscore", f, informative)


def test_rank_cli_scores_multilabel_data(tmp_path, capsys):
    data = make_csv(tmp_path / "d", n=16)
    argv = ["rank", "--task", "multilabel", "--data", str(data), "--backbones", "timm:resnet18",
            "--weights", "none", "--img-size", "32", "--out", str(tmp_path / "r"), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads((tmp_path / "r" / "rank.json").read_text())["rows"]
    assert rows[0]["status"] == "ok" and isinstance(rows[0]["score"], float)


def test_data_check_counts_labels_unlabelled_images_and_merged_copies(tmp_path):
    report = check_dataset(make_folder(tmp_path / "f", n=12), task="multilabel")
    s = report.summary
    assert s["format"] == "label_folder" and s["merged_duplicates"] > 0
    labelled = sum(1 for labels in label_sets(12) if labels)  # an empty set is in no folder
    assert sum(s["totals"].values()) == labelled
    assert not [p for p in report.problems if p.severity == "error"]
    report = check_dataset(make_csv(tmp_path / "c", n=12), task="multilabel")
    assert sum(report.summary["unlabelled"].values()) >= 1

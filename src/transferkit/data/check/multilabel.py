"""``data check --task multilabel``: a multi-label CSV or class folders, read as training reads
them (see :mod:`.classify` for the lister contract), with counts per label and split, images
without a label, and files merged because their content is the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.check.classify import UNSPLIT
from transferkit.data.datasets.multilabel import load_multilabel_data


def check_multilabel(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Counts per label and split, unlabelled images and merged duplicates into the report."""
    try:
        splits = load_multilabel_data(
            path,
            format=s["format"],
            val_fraction=s["val_fraction"],
            test_fraction=s["test_fraction"],
            seed=s["seed"],
            on_bad_image="skip",
        )
    except DatasetError as e:
        report.add("error", "unusable", f"training would stop: {e.message}")
        return [], None
    summary = splits.summary
    report.summary.update(
        format=summary["format"],
        class_names=splits.class_names,
        counts=summary["counts"],
        totals=summary["totals"],
        unlabelled=summary["unlabelled"],
        merged_duplicates=summary["merged_duplicates"],
    )
    for split, counts in summary["counts"].items():
        missing = [n for n, c in counts.items() if c == 0]
        if missing and split != "train":
            report.add(
                "warning",
                "class_missing_in_split",
                f"the {split} split has no image of {', '.join(map(repr, missing))}: their AP "
                f"cannot be measured there",
            )
    rows = []
    for split in ("train", "val", "test"):
        ds = getattr(splits, split)
        if ds is not None:  # the label set as one value: a set shared by copies is no conflict
            rows += [(p, split, _label_set(splits.class_names, t)) for p, t in ds.samples]
    rows += [(f["path"], UNSPLIT, None) for f in summary.get("skipped_files", [])]
    return rows, None


def _label_set(names: list[str], target) -> str:
    return ";".join(n for n, t in zip(names, target, strict=True) if t)

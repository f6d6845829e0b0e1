"""``data check`` for semantic segmentation: unreadable or mismatched masks, values beyond the
classes, classes no mask uses (see :mod:`transferkit.data.check.classify` for the lister contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.errors import DatasetError
from transferkit.data.check.classify import UNSPLIT
from transferkit.data.datasets.segmentation import assign_splits, check_pairs
from transferkit.data.formats.mask_folder import list_semantic


def check_segment(path: Path, s: dict[str, Any], report) -> tuple[list, Any]:
    """Image/mask pairs: unreadable or mismatched masks, values beyond the classes, empty ones."""
    try:
        listing = list_semantic(path, s["format"], "skip")
    except DatasetError as e:
        report.add("error", "layout", e.message)
        return [], None
    _annotation_findings(listing.notes.get("annotation_issues"), report)
    good, bad, num_classes, pixels = check_pairs(listing, s["ignore_index"])
    for sample, why in bad:
        report.add("error", "bad_mask", f"{sample.image}: {why}", [sample.image])
    names = listing.classes.names if listing.classes else [f"class_{i}" for i in range(num_classes)]
    splits = assign_splits(good, s["val_fraction"], s["test_fraction"], s["seed"])
    for split in ("train", "val"):
        if not splits[split]:
            report.add("error", "unusable", f"training would stop: no {split} image left")
    report.summary.update(
        format=listing.format,
        class_names=names,
        classes_file=listing.classes.source if listing.classes else None,
        images={k: len(v) for k, v in splits.items()},
        pixels_per_class={n: int(pixels.get(i, 0)) for i, n in enumerate(names)},
        ignored_pixels=int(pixels.get(s["ignore_index"], 0)),
    )
    for i, n in enumerate(names):
        if not pixels.get(i) and listing.classes:
            report.add("error", "empty_class", f"class {n!r} (value {i}) appears in no mask")
    rows = [(str(x.image), split, None) for split, xs in splits.items() for x in xs]
    rows += [(str(x.image), x.split or UNSPLIT, None) for x, _ in bad]
    return rows, None


def _annotation_findings(issues: dict | None, report) -> None:
    """Objects a format holding instances skipped (errors) or repaired (warnings) on the way to
    class masks: an object without a polygon would leave its pixels as background."""
    for kind, n in (issues or {}).get("counts", {}).items():
        severity = "error" if kind in issues.get("skipped", ()) else "warning"
        report.add(severity, kind, f"{n} object(s) or shape(s), e.g. {issues['examples'][kind]}")

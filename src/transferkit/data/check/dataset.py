"""``data check``: read a data set as training would and list every problem found.

The task's own readers list the data set (classification folders / CSV; COCO, VOC, YOLO, LabelMe;
mask layouts), bad items recorded, not stopping at the first. Each image is decoded once and hashed:

* corrupt or truncated images (errors: training would stop, or skip them);
* exact duplicates by content hash: across splits they leak evaluation data into training
  (errors); within a split they count twice (warnings); in classification with two different
  labels they contradict each other (errors);
* empty classes (errors: a class folder with no image, a category with no object, a class that
  no mask uses) and classes missing from the validation split (warnings);
* bad annotations (boxes outside the image, unknown categories, mask values beyond the class
  count …), each with its file and line or id.

The summary counts images per class and split, image sizes, file formats and colour modes. Errors
would stop training or make its numbers wrong; warnings are worth a look.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from transferkit.core.config import check_option
from transferkit.core.errors import ConfigError, DatasetError, did_you_mean
from transferkit.data.check.boxes import check_boxes, check_instances
from transferkit.data.check.classify import check_classify
from transferkit.data.check.masks import check_segment
from transferkit.data.check.multilabel import check_multilabel
from transferkit.data.check.paths import check_paths_inside
from transferkit.data.images import inspect_image

# The lister of each task: reads the data set as the task's load_data does (see check.classify).
LISTERS = {
    "classify": check_classify,
    "detect": check_boxes,
    "segment": check_segment,
    "instance": check_instances,
    "multilabel": check_multilabel,
}
TASKS = tuple(LISTERS)
_SHOWN_PATHS = 20  # files named in one problem; the rest are counted


@dataclass
class Problem:
    """One finding: ``error`` (training would stop or mislead) or ``warning``."""

    severity: str
    kind: str
    message: str
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "paths": self.paths,
        }


@dataclass
class CheckReport:
    """What ``data check`` found: a summary of the data set and the problems in it."""

    task: str
    source: str
    summary: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def add(self, severity: str, kind: str, message: str, paths=()) -> None:
        paths = [str(p) for p in paths]
        self.problems.append(Problem(severity, kind, message, paths[:_SHOWN_PATHS]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "source": self.source,
            "ok": not self.errors,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "summary": self.summary,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class FileInfo:
    """One image file decoded and hashed (``error`` set when it does not decode)."""

    path: str
    sha256: str | None = None
    size: tuple[int, int] | None = None
    format: str | None = None
    mode: str | None = None
    error: str | None = None


def check_dataset(
    path: str | Path,
    task: str = "classify",
    format: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    seed: int = 0,
    ignore_index: int = 255,
    threads: int | None = None,
) -> CheckReport:
    """Check the data set at ``path`` for ``task``; splits are made as training makes them."""
    if task not in TASKS:
        raise ConfigError(
            f"unknown task {task!r}.{did_you_mean(task, TASKS)}",
            hint=f"valid tasks: {', '.join(TASKS)}",
        )
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        check_option(name, value)
    check_option("split_seed", seed)
    check_option("ignore_index", ignore_index)
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data path not found: {path}", hint="pass an existing folder or file")
    report = CheckReport(task, str(path.absolute()))
    settings = {
        "format": format,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "seed": seed,
        "ignore_index": ignore_index,
    }
    images, after = LISTERS[task](path, settings, report)
    check_paths_inside(path, [p for p, _, _ in images], report)
    infos = inspect_files(sorted({p for p, _, _ in images}), threads)
    add_file_findings(report, images, infos)
    if after is not None:
        after(infos)
    return report


def inspect_files(paths: list[str], threads: int | None = None) -> dict[str, FileInfo]:
    """Decode and hash every file, on threads (PIL and hashlib release the GIL)."""

    def one(p: str) -> FileInfo:
        info = FileInfo(p)
        try:
            with open(p, "rb") as f:
                info.sha256 = hashlib.sha256(f.read()).hexdigest()
            info.size = inspect_image(p)  # decodes fully: corrupt and truncated files fail here
            with Image.open(p) as im:
                info.format, info.mode = im.format, im.mode
        except OSError as e:
            info.error = f"cannot read {p}: {e}"
        except DatasetError as e:
            info.error = e.message
        return info

    workers = threads or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return {i.path: i for i in pool.map(one, paths)}


def add_file_findings(
    report: CheckReport, images: list[tuple[str, str, str | None]], infos: dict[str, FileInfo]
) -> None:
    """Corrupt files, duplicates and leakage for ``(path, split, label)`` rows, plus sizes."""
    for info in infos.values():
        if info.error:
            report.add("error", "corrupt_image", info.error, [info.path])
    by_hash: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for row in images:
        info = infos[row[0]]
        if info.sha256:
            by_hash[info.sha256].append(row)
    for rows in by_hash.values():
        files = sorted({p for p, _, _ in rows})
        if len(files) < 2:
            continue
        splits = sorted({s for _, s, _ in rows})
        labels = sorted({lab for _, _, lab in rows if lab is not None})
        where = ", ".join(f"{p} ({s})" for p, s, _ in sorted(rows))
        if len(splits) > 1:
            report.add(
                "error",
                "leakage",
                f"the same image is in the {' and '.join(splits)} splits, so evaluation "
                f"sees training data{_labelled(labels)}: {where}",
                files,
            )
        elif len(labels) > 1:
            report.add(
                "error",
                "conflicting_labels",
                f"the same image has the labels {', '.join(map(repr, labels))}: {where}",
                files,
            )
        else:
            report.add(
                "warning",
                "duplicate",
                f"{len(files)} identical files in the "
                f"{splits[0]} split count {len(files)} times: {where}",
                files,
            )
    good = [i for i in infos.values() if i.size]
    if good:
        widths, heights = [i.size[0] for i in good], [i.size[1] for i in good]
        common = Counter(f"{w}x{h}" for w, h in (i.size for i in good)).most_common(5)
        report.summary["image_size"] = {
            "min_width": min(widths),
            "max_width": max(widths),
            "min_height": min(heights),
            "max_height": max(heights),
            "most_common": dict(common),
        }
        report.summary["file_formats"] = dict(Counter(i.format for i in good).most_common())
        report.summary["colour_modes"] = dict(Counter(i.mode for i in good).most_common())
    report.summary["images_checked"] = len(infos)
    report.summary["corrupt_images"] = sum(1 for i in infos.values() if i.error)


def _labelled(labels: list[str]) -> str:
    return f", under the labels {', '.join(map(repr, labels))}" if len(labels) > 1 else ""


def format_report(report: CheckReport) -> str:
    """The report as plain text: summary tables, then every problem, then the verdict."""
    s = report.summary
    lines = [f"data check: {report.source} (task {report.task})"]
    facts = [f"{k} {s[k]}" for k in ("format", "layout") if s.get(k)]
    if s.get("class_names") is not None:
        facts.append(f"{len(s['class_names'])} classes")
    facts.append(f"{s.get('images_checked', 0)} image files checked")
    lines.append(", ".join(facts))
    if s.get("counts"):
        lines += ["images per class and split:", *_grid(s["counts"], by_row=False)]
    if s.get("objects_per_class"):
        lines += ["objects per class and split:", *_grid(s["objects_per_class"], by_row=True)]
    if s.get("pixels_per_class"):
        lines += ["pixels per class:"]
        lines += [f"  {name:<24} {n:>12,}" for name, n in s["pixels_per_class"].items()]
    per_split = (
        s.get("images")
        or s.get("totals")
        or {k: v["images"] for k, v in (s.get("splits") or {}).items()}
    )
    if per_split:
        lines.append("images per split: " + ", ".join(f"{k} {v}" for k, v in per_split.items()))
    size = s.get("image_size")
    if size:
        common = ", ".join(f"{k} x{v}" for k, v in size["most_common"].items())
        lines.append(
            f"image sizes: width {size['min_width']}-{size['max_width']}, height "
            f"{size['min_height']}-{size['max_height']} (most common: {common})"
        )
        lines.append(
            "file formats: "
            + ", ".join(f"{k} {v}" for k, v in s["file_formats"].items())
            + "; colour modes: "
            + ", ".join(f"{k} {v}" for k, v in s["colour_modes"].items())
        )
    n_err, n_warn = len(report.errors), len(report.warnings)
    lines.append(f"problems: {n_err} error(s), {n_warn} warning(s)")
    for p in report.errors + report.warnings:
        lines.append(f"  {p.severity:<7} {p.kind:<22} {p.message}")
    lines.append(
        "result: "
        + ("clean" if not report.problems else "errors found" if n_err else "usable, with warnings")
    )
    return "\n".join(lines)


def _grid(table: dict[str, dict[str, int]], by_row: bool) -> list[str]:
    """Text rows of a class x split table given as ``{class: {split: n}}`` (``by_row``) or
    ``{split: {class: n}}``."""
    if not by_row:
        classes = dict.fromkeys(c for v in table.values() for c in v)
        table = {c: {split: v.get(c, 0) for split, v in table.items()} for c in classes}
    cols = list(dict.fromkeys(c for v in table.values() for c in v))
    width = max([len(str(r)) for r in table] + [5])
    out = ["  " + " " * width + "".join(f"{c:>9}" for c in cols)]
    out += [
        "  " + f"{r:<{width}}" + "".join(f"{v.get(c, 0):>9}" for c in cols)
        for r, v in table.items()
    ]
    return out

"""k-fold cross-validation for small classification data (``train --folds K``).

Every labelled image (a test split the data gives stays out, as test in every fold) is dealt
into K stratified folds (``data.splits.stratified_folds``, seeded by the split seed). Fold i is
an ordinary run, ``OUT/fold-i``, trained on the other folds and scored on fold i through a CSV
(``OUT/folds/fold-i.csv``, path,label,split) that the classification reader takes as it is. The
parent folder gets ``kfold.json`` (per-fold scores, mean and sd, the out-of-fold scores with a
bootstrap interval) and ``oof_predictions.csv``: one row for every labelled image, predicted by
the one model that did not train on it.

As in any single run, each fold keeps its best epoch on its own held-out images, which makes its
score a little optimistic; ``--patience 0`` with a fixed ``--epochs`` keeps the choice out.

``refit`` then trains ``OUT/refit`` on every labelled image with the same settings, all epochs
(no early stopping). Its val split is its own training images, so its scores are not estimates:
the k-fold numbers are.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, DatasetError, RunDirError
from transferkit.core.fileio import atomic_write_text, write_json
from transferkit.core.stats import bootstrap_intervals, interval_settings, mean_sd
from transferkit.data.augment import KNOBS
from transferkit.data.datasets.classification import ClassificationDataset
from transferkit.data.formats.class_folder import Entry, list_source
from transferkit.data.splits import stratified_folds
from transferkit.engine.prepare import Prepared, prepare, with_class_weights
from transferkit.engine.run import run
from transferkit.runs.record import RunResult
from transferkit.tasks import get_task
from transferkit.tasks.classify.stats import classification_resample

SCORES = ("accuracy", "macro_f1")


@dataclass
class KFoldResult:
    """Where the folds are, their summary (``kfold.json``), each fold's run and the refit's."""

    out_dir: Path
    summary: dict[str, Any]
    folds: list[RunResult]
    refit: RunResult | None = None


def check_kfold_config(cfg: RunConfig, refit: bool) -> None:
    """Refuse what k-fold cannot do, before any training."""
    if cfg.task != "classify":
        raise ConfigError(
            f"--folds is for classification, not task {cfg.task!r}",
            hint="train detection and segmentation with one train/val split (leave --folds out)",
        )
    if cfg.data.test_fraction > 0:
        raise ConfigError(
            f"--folds with --test-fraction {cfg.data.test_fraction}: each fold would carve "
            "another test split",
            hint="k-fold scores every image out of fold; leave --test-fraction out, or give a "
            "test split in the data (a test folder or split column)",
        )
    if cfg.train.devices > 1 or cfg.train.num_nodes > 1:
        raise ConfigError("--folds runs on one device", hint="leave --devices/--num-nodes out")
    if refit and cfg.transfer.strategy == "auto":
        raise ConfigError(
            "--refit with --strategy auto: the refit would choose its recipe on its own "
            "training images",
            hint="run --folds with the strategy to refit (e.g. --strategy gradual)",
        )


def cross_validate(
    data: str | Path | None = None,
    folds: int = 5,
    out: str | Path | None = None,
    config: RunConfig | str | Path | None = None,
    refit: bool = False,
    **settings: Any,
) -> KFoldResult:
    """k-fold cross-validation of a classification recipe (``train --folds K``): one run per
    stratified fold under ``out`` (default ``runs/kfold<K>-<time>``), ``kfold.json`` (mean and sd
    over the folds, out-of-fold scores with a 95 % interval) and ``oof_predictions.csv``;
    ``refit=True`` then trains ``out/refit`` on every labelled image with the same settings.
    ``settings`` are config fields by name, as for ``fit``."""
    if isinstance(config, (str, Path)):
        config = RunConfig.load(config)
    cfg = (config or RunConfig()).with_values(path=str(data) if data else None, **settings)
    if not cfg.data.path:
        raise ConfigError("no data given", hint="pass --data PATH (data= in the API)")
    out = out or Path("runs") / f"kfold{folds}-{time.strftime('%Y%m%d-%H%M%S')}"
    return fit_folds(cfg, out, folds, refit)


def fit_folds(cfg: RunConfig, out: str | Path, folds: int, refit: bool = False) -> KFoldResult:
    """Train ``folds`` runs of ``cfg`` on stratified folds into ``out`` (then the refit)."""
    check_kfold_config(cfg, refit)
    listing = list_source(cfg.data.path, cfg.data.format)
    pool = [e for e in listing.entries if e.split != "test"]
    tests = [e for e in listing.entries if e.split == "test"]
    parts = stratified_folds(
        [e.label for e in pool], folds, cfg.data.split_seed, [str(e.path) for e in pool]
    )
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise RunDirError(
            f"{out} is not empty; k-fold writes its folds into a new folder",
            hint="choose another --out",
        )
    results, oof = [], []
    for i, members in enumerate(parts, start=1):
        console.info(f"\nfold {i}/{folds}: {len(members)} held-out images")
        held = set(members)
        rows = [(e, "val" if j in held else "train") for j, e in enumerate(pool)]
        data = _write_csv(out / "folds" / f"fold-{i}.csv", rows + [(e, "test") for e in tests])
        result = run(cfg.with_values(path=str(data), format="csv"), out / f"fold-{i}")
        results.append(result)
        oof += _out_of_fold(result, [pool[j] for j in members], i)
    summary = _summary(cfg, folds, results, oof)
    _write_oof(out / "oof_predictions.csv", oof)
    final = None
    if refit:
        console.info(f"\nrefit: every labelled image ({len(pool)})")
        data = _write_csv(out / "folds" / "all.csv", [(e, "train") for e in pool])
        chosen = cfg.with_values(path=str(data), format="csv", **_fold_augment(results))
        final = _refit(chosen, out / "refit")
        summary["refit_run"] = str(final.run_dir)
    write_json(out / "kfold.json", summary)
    return KFoldResult(out, summary, results, final)


def _write_csv(path: Path, rows: list[tuple[Entry, str]]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", "label", "split"])
    writer.writerows([str(e.path), e.label, split] for e, split in rows)
    atomic_write_text(path, buf.getvalue())
    return path


def _out_of_fold(result: RunResult, held: list[Entry], fold: int) -> list[dict[str, Any]]:
    """One row per held-out image of a fold: its label and the fold model's prediction."""
    val = result.metrics.get("val") or {}
    names = list(val.get("per_class") or {})
    per_image = val.get("per_image") or {"target": [], "pred": []}
    if len(per_image["target"]) != len(held):
        raise DatasetError(
            f"fold {fold} scored {len(per_image['target'])} of its {len(held)} held-out images",
            hint="an image could not be read (--on-bad-image skip): fix or remove it",
        )
    rows = []
    for entry, target, pred in zip(held, per_image["target"], per_image["pred"], strict=True):
        if names[target] != entry.label:  # the order of the fold's val split is the CSV's
            raise RuntimeError(f"fold {fold}: {entry.path} is {entry.label}, scored as {target}")
        rows.append(
            {
                "path": str(entry.path),
                "label": entry.label,
                "fold": fold,
                "prediction": names[pred],
                "correct": int(pred == target),
            }
        )
    return rows


def _summary(cfg, folds: int, results: list[RunResult], oof: list[dict]) -> dict[str, Any]:
    """Per-fold scores, their mean and sd, and the scores of the pooled out-of-fold predictions
    with a bootstrap interval over the images."""
    per_fold = [
        {
            "fold": i,
            "val_images": len((r.metrics.get("val") or {}).get("per_image", {}).get("pred", [])),
            **{k: (r.metrics.get("val") or {}).get(k) for k in SCORES},
            "run_dir": str(r.run_dir),
        }
        for i, r in enumerate(results, start=1)
    ]
    stats = {k: mean_sd([f[k] for f in per_fold]) for k in SCORES}
    names = sorted({r["label"] for r in oof} | {r["prediction"] for r in oof})
    index = {n: i for i, n in enumerate(names)}
    target = np.array([index[r["label"]] for r in oof])
    pred = np.array([index[r["prediction"]] for r in oof])
    resample = classification_resample(target, pred, len(names))
    pooled = {k: float(v[0]) for k, v in resample(np.ones((1, len(oof)))).items()}
    return {
        "folds": folds,
        "split_seed": cfg.data.split_seed,
        "images": len(oof),
        "per_fold": per_fold,
        "mean": {k: m for k, (m, _) in stats.items()},
        "sd": {k: sd for k, (_, sd) in stats.items()},
        "out_of_fold": {
            **pooled,
            "ci": bootstrap_intervals(resample, len(oof)),
            "ci_settings": interval_settings(),
            "predictions": "oof_predictions.csv",
        },
    }


def _write_oof(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["path", "label", "fold", "prediction", "correct"])
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: r["path"]))
    atomic_write_text(path, buf.getvalue())


def _fold_augment(results: list[RunResult]) -> dict[str, Any]:
    """The augmentation knobs most folds trained with (``--augment auto`` resolves them per
    fold, checked on its held-out images); the refit cannot check on held-out images of its own.
    """
    knobs = [
        {
            k: v
            for k, v in asdict(RunConfig.load(r.run_dir / "config.yaml").data).items()
            if k in KNOBS
        }
        for r in results
    ]
    votes = Counter(json.dumps(k, sort_keys=True) for k in knobs)
    return json.loads(votes.most_common(1)[0][0]) if votes else {}


def _refit(cfg: RunConfig, out: Path) -> RunResult:
    """Train on every labelled image, all epochs; val is the same images (not an estimate)."""
    cfg = cfg.with_values(patience=0, val_fraction=max(cfg.data.val_fraction, 0.2))
    prepared = prepare(cfg)  # reads the images once; its carved val joins train below
    s = prepared.splits
    samples = list(s.train.samples) + list(s.val.samples)
    splits = replace(
        s,
        train=ClassificationDataset(samples, s.class_names, s.train.transform),
        val=ClassificationDataset(samples, s.class_names, s.val.transform),
        summary={
            **s.summary,
            "refit": "trained on every labelled image; val is the same "
            "images, so its scores are not estimates (see kfold.json)",
        },
    )
    task, splits = with_class_weights(cfg, get_task(cfg.task, cfg), splits)
    return run(cfg, out, prepared=Prepared(task, prepared.backbone, splits))

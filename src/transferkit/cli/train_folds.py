"""``train --folds K``: k-fold cross-validation from the command line (``engine.kfold``)."""

from __future__ import annotations

import argparse

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError


def run_folds(args: argparse.Namespace, cfg: RunConfig) -> int:
    """``train --folds K [--refit]`` with the run settings ``cfg``: the k-fold runs, a table of
    their scores and where they are."""
    from transferkit.api import cross_validate
    from transferkit.cli.common import fmt, fmt_ci, print_table

    if args.folds is None:
        raise ConfigError("--refit goes with --folds K", hint="e.g. train --folds 5 --refit")
    if args.resume:
        raise ConfigError("--folds cannot --resume", hint="run the k-fold again into a new --out")
    result = cross_validate(config=cfg, out=args.out, folds=args.folds, refit=args.refit)
    s = result.summary
    rows = [
        [f["fold"], f["val_images"], fmt(f["accuracy"]), fmt(f["macro_f1"])] for f in s["per_fold"]
    ]
    mean_sd = [f"{fmt(s['mean'][k])} +- {fmt(s['sd'][k])}" for k in ("accuracy", "macro_f1")]
    oof = s["out_of_fold"]
    pooled = [f"{fmt(oof[k])} {fmt_ci(oof['ci'].get(k))}" for k in ("accuracy", "macro_f1")]
    rows += [["mean +- sd", "", *mean_sd], ["out of fold (95% CI)", s["images"], *pooled]]
    print_table(
        f"{args.folds}-fold cross-validation", ["fold", "images", "accuracy", "macro F1"], rows
    )
    console.info(f"folds and summary: {result.out_dir} (kfold.json, oof_predictions.csv)")
    if result.refit is not None:
        console.info(f"refit on every labelled image: {result.refit.run_dir}")
    return 0

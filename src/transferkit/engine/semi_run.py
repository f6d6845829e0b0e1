"""A run that learns from unlabelled images too (``--unlabelled``): adapt, self-train, guard.

Order: prepare once; read the unlabelled images (verified, val/test duplicates refused); with
``--adapt bn`` re-estimate the backbone's BatchNorm statistics on them (AdaBN) before any feature
is extracted; fit the labelled-only probe; self-train on cached features (``transfer.pseudo``);
keep the self-trained probe only if val accuracy does not drop beyond noise. A probe run records
the kept probe; a fine-tuning run trains the labelled-only LP-FT and, when self-training was kept,
an LP-FT from the self-trained probe on labelled + pseudo-labelled images, both in scratch folders
inside the run, and the guard keeps one. With ``--adapt bn`` each fine-tuned model is adapted again afterwards
(``engine.semi_after``). ``semi.json`` says what happened and why.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.core.unlabelled_opts import resolved_semi
from transferkit.data.datasets.classification import ClassificationDataset
from transferkit.data.loading import resolve_workers
from transferkit.data.transforms.classify import eval_transform
from transferkit.data.unlabelled import UnlabelledImages, list_unlabelled, read_unlabelled
from transferkit.engine import loop
from transferkit.engine.prepare import Prepared, prepare
from transferkit.engine.probe_run import fit_probe
from transferkit.engine.semi_after import adapt_after
from transferkit.engine.start import Start, begin
from transferkit.runs.record import RunRecord, RunResult
from transferkit.transfer.adabn import adapt_batchnorm, check_batchnorm
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.probe import ProbeOutcome, probe_device, probe_splits
from transferkit.transfer.pseudo import guard, self_train

SCRATCH_PREFIX = ".semi-runs-"


def check_semi_run(cfg: RunConfig, resume: bool) -> None:
    """Refuse what a run with unlabelled images does not do (yet): resume, auto, DDP."""
    refusals = (
        (resume, "resuming a run trained with --unlabelled", "train it again without --resume"),
        (cfg.transfer.strategy == "auto", "--strategy auto with --unlabelled",
         "pick --strategy probe or a fine-tuning strategy (head, gradual, full, partial:N)"),
        (cfg.train.devices > 1 or cfg.train.num_nodes > 1, "--unlabelled on several devices",
         "train with --devices 1"),
    )  # fmt: skip
    for refused, what, hint in refusals:
        if refused:
            raise ConfigError(f"{what} is not supported", hint=hint)


def run_semi(cfg: RunConfig, out: Path, cache_dir: str | Path | None = None) -> RunResult:
    """Train ``cfg`` (with ``data.unlabelled``) into ``out``; see the module documentation."""
    list_unlabelled(cfg.data.unlabelled)  # a missing or empty folder fails before any work
    cache = FeatureCache(cache_dir)
    prepared = prepare(cfg)
    splits, backbone = prepared.splits, prepared.backbone
    if cfg.transfer.adapt == "bn":
        check_batchnorm(backbone, cfg.model.backbone)
    held = [p for d in (splits.val, splits.test) if d is not None for p, _ in d.samples]
    images = read_unlabelled(
        cfg.data.unlabelled, held, resolve_workers(cfg.train.num_workers) or None
    )
    console.info(_images_line(images))
    transform = eval_transform(backbone.data_config, cfg.data.img_size)
    device = probe_device(cfg.train.accelerator)
    record: dict[str, Any] = {"unlabelled": images.summary(), "adapt": cfg.transfer.adapt}
    if cfg.transfer.adapt == "bn":
        seen = adapt_batchnorm(backbone, images.paths, transform,
                               batch_size=max(cfg.train.batch_size, 2), device=device)  # fmt: skip
        console.info(f"adapt bn: BatchNorm statistics re-estimated on {seen} unlabelled images")
    labelled = probe_splits(backbone, splits, cfg, cache)
    semi, record["semi"] = None, resolved_semi(cfg)
    if record["semi"] == "self-training":
        semi, record["self_training"] = _self_train(cfg, prepared, cache, labelled, images)
    if cfg.transfer.strategy == "probe":
        return _probe_result(cfg, out, prepared, cache, labelled, semi, record)
    return _fine_tune(cfg, out, prepared, cache, labelled, semi, record, images.paths)


def _self_train(cfg, prepared: Prepared, cache, labelled: ProbeOutcome, images):
    """Self-training on cached features; returns (semi probe or None when the guard refuses
    it, with the pseudo-labelled paths and labels attached; the record)."""
    backbone = prepared.backbone
    got = cache.features(
        backbone,
        images.paths,
        eval_transform(backbone.data_config, cfg.data.img_size),
        batch_size=cfg.train.batch_size,
        num_workers=resolve_workers(cfg.train.num_workers),
        device=probe_device(cfg.train.accelerator),
        progress=not cfg.train.quiet,
    )
    unl = got.features.to(labelled.features["train"].device)
    names = prepared.splits.class_names
    known = ("train", "val")  # test neither supplies nor receives pseudo-labels
    feats = {s: labelled.features[s] for s in known}
    result = self_train(
        labelled.fit, feats, {s: labelled.labels[s] for s in known}, unl, len(names)
    )
    for row in result.rounds:
        row["per_class"] = dict(zip(names, row["per_class"]))
        console.info(
            f"self-training round {row['round']}: {row['pseudo_labels']} pseudo-labels "
            f"(threshold {row['threshold']}, hold-out accuracy {row['holdout']['accuracy']})"
        )
    outcome = dataclasses.replace(labelled, fit=result.fit)
    keep, why = guard(labelled.val_accuracy(), outcome.val_accuracy(), len(labelled.labels["val"]))
    if len(result.index) == 0:
        keep, why = False, "kept the labelled-only model: no unlabelled image cleared the threshold"
    console.info(f"self-training (probe): {why}")
    pseudo = [(images.paths[int(i)], int(c)) for i, c in zip(result.index, result.labels)]
    summary = {
        "rounds": result.rounds,
        "pseudo_labelled": len(pseudo),
        "probe": {"labelled_only": _scores(labelled), "with_unlabelled": _scores(outcome)},
        "probe_guard": {"kept": "with_unlabelled" if keep else "labelled_only", "reason": why},
    }
    return ((outcome, pseudo) if keep else None), summary


def _scores(outcome: ProbeOutcome) -> dict[str, float]:
    """Accuracy of a probe on val and (reported only, never used to decide) test."""
    scores = {}
    for split in ("val", "test"):
        if split in outcome.features:
            pred = outcome.fit.logits(outcome.features[split]).argmax(1)
            scores[split] = round(float((pred == outcome.labels[split]).float().mean()), 4)
    return scores


def _probe_result(cfg, out, prepared, cache, labelled, semi, record) -> RunResult:
    """The kept probe recorded as the run, and ``semi.json`` beside it."""
    kept = semi[0] if semi else labelled
    record["kept"] = "with_unlabelled" if semi else "labelled_only"
    result = fit_probe(cfg, out, prepared, cache=cache, outcome=kept)
    RunRecord(out).semi_choice(record)
    return result


def _fine_tune(cfg, out, prepared, cache, labelled, semi, record, files) -> RunResult:
    """LP-FT without (and, when self-training was kept, with) pseudo-labels; the guard keeps one."""
    initial = {k: v.detach().clone() for k, v in prepared.backbone.state_dict().items()}
    flags = [p.requires_grad for p in prepared.backbone.parameters()]
    monitor = prepared.task.monitor
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=out) as scratch:
        run_cfg, start = begin(cfg, Path(scratch) / "labelled", prepared, cache, labelled)
        plain = _train(run_cfg, prepared, Path(scratch) / "labelled", start, files)
        kept, tuned, why = plain, None, "no self-trained probe to fine-tune from"
        if semi is not None:
            prepared.backbone.load_state_dict(initial)  # both start from the same backbone
            for p, flag in zip(prepared.backbone.parameters(), flags):
                p.requires_grad_(flag)
            with_pseudo = _with_pseudo(prepared, semi[1])
            semi_start = _semi_start(semi[0])
            tuned = _train(run_cfg, with_pseudo, Path(scratch) / "semi", semi_start, files)
            val = (r.metrics["val"][monitor] for r in (plain, tuned))
            keep, why = guard(*val, len(prepared.splits.val))
            kept = tuned if keep else plain
        record["fine_tune"] = {
            "pseudo_labelled_images": len(semi[1]) if semi else 0,
            "labelled_only": _run_scores(plain, monitor),
            "with_unlabelled": _run_scores(tuned, monitor) if tuned else None,
        }
        record["kept"] = "with_unlabelled" if kept is tuned else "labelled_only"
        record["reason"] = why
        console.info(f"self-training (fine-tuned): {why}")
        RunRecord(out).adopt(kept.run_dir)
    RunRecord(out).semi_choice(record)
    return RunResult(out, kept.metrics, kept.history, kept.seconds)


def _train(cfg: RunConfig, prepared: Prepared, folder: Path, start: Start, files) -> RunResult:
    """One LP-FT run in ``folder``; with ``--adapt bn``, AdaBN again after it."""
    result = loop.fit(cfg, folder, False, prepared, start)
    return adapt_after(cfg, prepared, result, files) if cfg.transfer.adapt == "bn" else result


def _run_scores(result: RunResult, monitor: str) -> dict[str, float]:
    """A fine-tuned run's final val and (reported only) test score."""
    return {s: result.metrics[s][monitor] for s in ("val", "test") if s in result.metrics}


def _with_pseudo(prepared: Prepared, pseudo: list[tuple[str, int]]) -> Prepared:
    """``prepared`` whose train split also holds the pseudo-labelled images (same transform)."""
    train = prepared.splits.train
    both = ClassificationDataset([*train.samples, *pseudo], train.class_names, train.transform)
    return dataclasses.replace(prepared, splits=dataclasses.replace(prepared.splits, train=both))


def _semi_start(outcome: ProbeOutcome) -> Start:
    """The fine-tuning start from the self-trained probe's head."""
    weight, bias = (t.detach().float().cpu() for t in (outcome.fit.weight, outcome.fit.bias))
    label = "probe self-trained on labelled + pseudo-labelled images"
    return Start("probe", label, weight, bias, outcome.val_accuracy())


def _images_line(images: UnlabelledImages) -> str:
    return (
        f"unlabelled: {len(images.paths)} images from {images.source}; "
        f"{len(images.skipped)} unreadable skipped, {len(images.leaked)} refused as identical "
        f"to labelled val/test images (leakage)"
    )

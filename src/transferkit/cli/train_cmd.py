"""``transferkit train``: fine-tune a pretrained backbone on a data set, or ``--resume`` a run."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number
from transferkit.cli.train_folds import run_folds
from transferkit.core import console
from transferkit.core.config import BN_CHOICES, TASKS, RunConfig

BN_HELP = (
    "BatchNorm statistics: auto (default) = eval with pretrained weights, frozen with random init; "
    "eval = fixed in every pretrained stage; frozen = fixed in frozen stages; train = updated"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune a pretrained backbone on your data",
        description="Fine-tune a pretrained backbone. Flags override --config values.",
    )
    p.add_argument("--data", dest="path", help="data folder or annotation file")
    p.add_argument("--task", choices=list(TASKS))
    p.add_argument("--format", help="auto (default), folder, csv, coco, voc, yolo, masks")
    p.add_argument(
        "--classes", help="multilabel: the labels, in order, e.g. cat,dog,outdoor (default: found)"
    )
    p.add_argument(
        "--backbone",
        help="zoo name, e.g. efficientnet_lite0, timm:NAME, tv:NAME; or run:RUNDIR, a finished "
        "run's backbone and preprocessing",
    )
    p.add_argument("--weights", help="auto (pretrained, offline), none (random init), or a file")
    p.add_argument(
        "--init-from",
        dest="init_from",
        metavar="RUNDIR",
        help="classify: continue a run on new data: its backbone, and its head rows for the "
        "classes both have (by name); new classes get fresh rows",
    )
    p.add_argument("--strategy", help="head | partial:N | gradual | full | probe | auto")
    p.add_argument(
        "--budget",
        type=_budget,
        help="auto: training the trials may spend, in epochs (12) or minutes (5m); "
        "default 3 x --epochs",
    )
    add_number(p, "--epochs")
    add_number(p, "--img-size", help="input size in pixels")
    add_number(p, "--batch-size")
    add_number(p, "--lr", help="base learning rate (the head's)")
    add_number(p, "--weight-decay")
    add_number(
        p, "--lr-decay", help="LR multiplier between neighbouring stages (discriminative LR)"
    )
    add_number(p, "--unfreeze-every", help="gradual: epochs between unfreezing one more stage")
    _add_model_and_schedule(p)
    _add_init_and_augment(p)
    p.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="classify: k-fold cross-validation, K runs on stratified folds under --out, with "
        "mean +- sd and out-of-fold predictions for every labelled image",
    )
    p.add_argument(
        "--refit",
        action="store_true",
        help="with --folds: then train the final model on every labelled image (OUT/refit)",
    )
    _add_unlabelled(p)
    p.set_defaults(func=run)


def _add_unlabelled(p: argparse.ArgumentParser) -> None:
    """Learning from unlabelled images too (classification)."""
    p.add_argument(
        "--unlabelled",
        metavar="PATH",
        help="classify: a folder of unlabelled images (searched recursively) or a text file of "
        "paths; self-trains on them (see --semi), copies of val/test images are refused",
    )
    p.add_argument(
        "--adapt",
        choices=["none", "bn"],
        help="bn: re-estimate BatchNorm statistics on the --unlabelled images (AdaBN) before "
        "training; none (default)",
    )
    p.add_argument(
        "--semi",
        choices=["auto", "self-training", "none"],
        help="with --unlabelled: self-training (what auto means) pseudo-labels them, kept only "
        "if val accuracy does not drop beyond noise; none: only --adapt uses them",
    )


def _add_init_and_augment(p: argparse.ArgumentParser) -> None:
    """How fine-tuning starts its head, and the training augmentation."""
    p.add_argument(
        "--init",
        choices=["auto", "probe", "random"],
        help="head init of fine-tuning: probe (the linear probe first, LP-FT), random, or auto "
        "(default: probe for classification with a linear head, random elsewhere)",
    )
    p.add_argument(
        "--augment",
        help="none | light | default | strong | auto (default: 'default'; for classify minus the "
        "augmentations a check against the probe finds harmful); knobs below override it; "
        "detect/instance/segment: the preset also sets the scale jitter, --crop-scale (and "
        "--rotation for boxes) do not apply",
    )
    add_number(p, "--hflip", metavar="P", help="horizontal flip probability")
    add_number(p, "--vflip", metavar="P", help="vertical flip probability")
    p.add_argument(
        "--crop-scale",
        dest="crop_scale",
        nargs="+",
        metavar="MIN MAX",
        help="classify: area share a random crop keeps, 'MIN MAX' or 'MIN,MAX' (1 1: no random "
        "crop)",
    )
    add_number(p, "--jitter", metavar="S", help="brightness/contrast/saturation jitter strength")
    add_number(p, "--rotation", metavar="DEG", help="largest random rotation")


def _add_hardware(p: argparse.ArgumentParser) -> None:
    """Devices, precision and the data loader's workers and image cache."""
    add_number(p, "--devices", help="devices per node; more than 1 runs DDP")
    add_number(p, "--num-nodes", help="machines (torchrun / SLURM)")
    p.add_argument("--accelerator", choices=["auto", "cpu", "gpu", "cuda", "mps"])
    p.add_argument("--precision", choices=["32", "bf16-mixed", "16-mixed"])
    add_number(p, "--num-workers", help="data loader processes, or auto (from the machine)")
    p.add_argument(
        "--cache-images",
        dest="cache_images",
        choices=["auto", "ram", "none"],
        help="keep decoded images in memory so later epochs skip decoding "
        "(auto: when they fit; the default)",
    )


def _add_model_and_schedule(p: argparse.ArgumentParser) -> None:
    """The head, detector, split, early-stopping, device and input options of ``train``."""
    p.add_argument("--bn", choices=BN_CHOICES, help=BN_HELP)
    p.add_argument("--head", help="classify: linear | mlp; segment: fpn | unet | deeplabv3")
    add_number(p, "--head-hidden")
    add_number(p, "--head-dropout")
    p.add_argument("--detector", help="faster_rcnn | retinanet | fcos")
    add_number(
        p, "--dice-weight", help="segment: add this weight x soft Dice loss to the cross-entropy"
    )
    add_number(p, "--val-fraction")
    add_number(p, "--test-fraction")
    add_number(p, "--patience", help="early stopping patience in epochs (0: off)")
    p.add_argument(
        "--class-weights",
        dest="class_weights",
        help="classify: auto weighs the training loss by inverse class frequency of the train "
        "split; none (default)",
    )
    add_number(
        p,
        "--seed",
        help="training seed: random init, new layers, shuffling, augmentation (default 0); "
        "the split has its own, --split-seed",
    )
    add_number(
        p,
        "--split-seed",
        help="seed of the train/val/test carve, as data check's --split-seed (default 0)",
    )
    _add_hardware(p)
    p.add_argument("--on-bad-image", dest="on_bad_image", choices=["fail", "skip"])
    p.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="detection: boxes outside the image are an error, not clipped",
    )
    p.add_argument("--config", help="a YAML config (e.g. a run's config.yaml)")
    p.add_argument(
        "--out", help="run directory to create (default runs/<backbone>-<strategy>-<time>)"
    )
    p.add_argument(
        "--resume",
        metavar="RUNDIR",
        help="continue an interrupted run; with --epochs N above its epochs, extend a finished one",
    )
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bars")


SETTINGS = (
    "path",
    "task",
    "format",
    "backbone",
    "weights",
    "init_from",
    "strategy",
    "budget",
    "epochs",
    "img_size",
    "batch_size",
    "lr",
    "weight_decay",
    "lr_decay",
    "unfreeze_every",
    "bn",
    "init",
    "augment",
    "hflip",
    "vflip",
    "crop_scale",
    "jitter",
    "rotation",
    "head",
    "head_hidden",
    "head_dropout",
    "detector",
    "dice_weight",
    "val_fraction",
    "test_fraction",
    "patience",
    "class_weights",
    "seed",
    "split_seed",
    "devices",
    "num_nodes",
    "accelerator",
    "precision",
    "num_workers",
    "cache_images",
    "on_bad_image",
    "strict",
    "classes",
    "unlabelled",
    "adapt",
    "semi",
    "quiet",
)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config: ``--config`` (or the defaults) with every given flag applied on top."""
    base = RunConfig.load(args.config) if args.config else RunConfig()
    values = {k: getattr(args, k) for k in SETTINGS}
    if args.init_from and not args.backbone:  # --init-from takes the run's backbone
        values["backbone"] = f"run:{args.init_from}"
    return base.with_values(**values)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import fit

    if args.folds is not None or args.refit:
        return run_folds(args, config_from_args(args))
    if args.resume:  # any other flag is refused: a resumed run keeps its config, but its epochs
        result = fit(out=args.resume, resume=True, **_given(args))
    else:
        result = fit(config=config_from_args(args), out=args.out)
    console.info(f"run directory: {result.run_dir}")  # rank 0 only: under torchrun all return here
    return 0


def _given(args: argparse.Namespace) -> dict:
    """The settings flags given on the command line (``--config`` counts as one)."""
    given = {k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None}
    return {**given, "config": args.config} if args.config else given


def _budget(text: str) -> int | str:
    """``--budget``: a whole number as epochs, anything else as written (the config checks it,
    so that a bad value gets the same one-line error from the CLI, the API and YAML)."""
    try:
        return int(text)
    except ValueError:
        return text

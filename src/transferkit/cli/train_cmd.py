"""``transferkit train``: fine-tune a pretrained backbone on a data set, or ``--resume`` a run."""

from __future__ import annotations

import argparse

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
    p.add_argument("--backbone", help="zoo name, e.g. efficientnet_lite0, timm:NAME, tv:NAME")
    p.add_argument("--weights", help="auto (pretrained, offline), none (random init), or a file")
    p.add_argument("--strategy", help="head | partial:N | gradual | full | probe | auto")
    p.add_argument(
        "--budget",
        type=_budget,
        help="auto: training the trials may spend, in epochs (12) or minutes (5m); "
        "default 3 x --epochs",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--img-size", dest="img_size", type=int, help="input size in pixels")
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float, help="base learning rate (the head's)")
    p.add_argument("--weight-decay", dest="weight_decay", type=float)
    p.add_argument(
        "--lr-decay",
        dest="lr_decay",
        type=float,
        help="LR multiplier between neighbouring stages (discriminative LR)",
    )
    p.add_argument(
        "--unfreeze-every",
        dest="unfreeze_every",
        type=int,
        help="gradual: epochs between unfreezing one more stage",
    )
    _add_model_and_schedule(p)
    _add_init_and_augment(p)
    p.set_defaults(func=run)


def _add_init_and_augment(p: argparse.ArgumentParser) -> None:
    """How fine-tuning starts its head, and the classification training augmentation."""
    p.add_argument(
        "--init",
        choices=["auto", "probe", "random"],
        help="head init of fine-tuning: probe (the linear probe first, LP-FT), random, or auto "
        "(default: probe for classification with a linear head, random elsewhere)",
    )
    p.add_argument(
        "--augment",
        help="classify: none | light | default | strong | auto (default: 'default', minus the "
        "augmentations a check against the probe finds harmful); knobs below override it",
    )
    p.add_argument("--hflip", type=float, metavar="P", help="horizontal flip probability")
    p.add_argument("--vflip", type=float, metavar="P", help="vertical flip probability")
    p.add_argument(
        "--crop-scale",
        dest="crop_scale",
        nargs="+",
        metavar="MIN MAX",
        help="area share a random crop keeps, 'MIN MAX' or 'MIN,MAX' (1 1: no random crop)",
    )
    p.add_argument(
        "--jitter", type=float, metavar="S", help="brightness/contrast/saturation jitter strength"
    )
    p.add_argument("--rotation", type=float, metavar="DEG", help="largest random rotation")


def _add_hardware(p: argparse.ArgumentParser) -> None:
    """Devices, precision and the data loader's workers and image cache."""
    p.add_argument("--devices", type=int, help="devices per node; more than 1 runs DDP")
    p.add_argument("--num-nodes", dest="num_nodes", type=int, help="machines (torchrun / SLURM)")
    p.add_argument("--accelerator", choices=["auto", "cpu", "gpu", "cuda", "mps"])
    p.add_argument("--precision", choices=["32", "bf16-mixed", "16-mixed"])
    p.add_argument(
        "--num-workers",
        dest="num_workers",
        type=_workers,
        help="data loader processes: a number, or auto (from the machine; the default)",
    )
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
    p.add_argument("--head-hidden", dest="head_hidden", type=int)
    p.add_argument("--head-dropout", dest="head_dropout", type=float)
    p.add_argument("--detector", help="faster_rcnn | retinanet | fcos")
    p.add_argument(
        "--dice-weight",
        dest="dice_weight",
        type=float,
        help="segment: add this weight x soft Dice loss to the cross-entropy",
    )
    p.add_argument("--val-fraction", dest="val_fraction", type=float)
    p.add_argument("--test-fraction", dest="test_fraction", type=float)
    p.add_argument("--patience", type=int, help="early stopping patience in epochs (0: off)")
    p.add_argument(
        "--class-weights",
        dest="class_weights",
        help="classify: auto weighs the training loss by inverse class frequency of the train "
        "split; none (default)",
    )
    p.add_argument(
        "--seed",
        type=int,
        help="training seed: random init, new layers, shuffling, augmentation (default 0); "
        "the split has its own, --split-seed",
    )
    p.add_argument(
        "--split-seed",
        dest="split_seed",
        type=int,
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
    "quiet",
)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config: ``--config`` (or the defaults) with every given flag applied on top."""
    base = RunConfig.load(args.config) if args.config else RunConfig()
    return base.with_values(**{k: getattr(args, k) for k in SETTINGS})


def run(args: argparse.Namespace) -> int:
    from transferkit.api import fit

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


def _workers(text: str) -> int | str:
    """``--num-workers``: a whole number, or auto (anything else is checked by the config)."""
    try:
        return int(text)
    except ValueError:
        return text


def _budget(text: str) -> int | str:
    """``--budget``: a whole number as epochs, anything else as written (the config checks it,
    so that a bad value gets the same one-line error from the CLI, the API and YAML)."""
    try:
        return int(text)
    except ValueError:
        return text

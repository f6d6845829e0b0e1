"""``transferkit plan``: print the freeze plan of a strategy on a backbone, without training."""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number, print_json
from transferkit.core.config import BN_CHOICES, TASKS, option_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show what trains, when, and at what LR, without training")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--strategy", default="gradual")
    p.add_argument("--task", default="classify", choices=list(TASKS))
    add_number(p, "--epochs", default=10)
    add_number(p, "--num-classes", default=option_default("num_classes"))
    p.add_argument("--head", help="classify: linear | mlp; segment: fpn | unet | deeplabv3")
    p.add_argument("--detector", help="faster_rcnn | retinanet | fcos")
    add_number(p, "--lr", default=None)
    add_number(p, "--lr-decay")
    add_number(p, "--unfreeze-every")
    p.add_argument("--bn", choices=BN_CHOICES)
    p.add_argument(
        "--init",
        choices=["auto", "probe", "random"],
        help="head init: probe (LP-FT), random, or auto (probe where it applies)",
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from transferkit.api import plan

    result = plan(
        args.backbone,
        args.strategy,
        task=args.task,
        epochs=args.epochs,
        num_classes=args.num_classes,
        head=args.head,
        detector=args.detector,
        lr_decay=args.lr_decay,
        unfreeze_every=args.unfreeze_every,
        bn=args.bn,
        init=args.init,
    )
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.render(args.lr))
    return 0

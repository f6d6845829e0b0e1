"""``transferkit plan``: print the freeze plan of a strategy on a backbone, without training."""

from __future__ import annotations

import argparse

from transferkit.cli.common import print_json
from transferkit.core.config import BN_CHOICES, TASKS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="show what trains, when, and at what LR, without training")
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--strategy", default="gradual")
    p.add_argument("--task", default="classify", choices=list(TASKS))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--num-classes", dest="num_classes", type=int, default=10)
    p.add_argument("--head", help="classify: linear | mlp; segment: fpn | unet | deeplabv3")
    p.add_argument("--detector", help="faster_rcnn | retinanet | fcos")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--lr-decay", dest="lr_decay", type=float)
    p.add_argument("--unfreeze-every", dest="unfreeze_every", type=int)
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

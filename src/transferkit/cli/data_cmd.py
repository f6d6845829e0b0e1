"""``transferkit data``: work on data sets without training (``data convert`` …).

Each action is a sub-command registered by a small ``_register_<action>`` function here, so more
actions (``data check``) plug in beside ``convert`` without touching the others.
"""

from __future__ import annotations

import argparse

from transferkit.cli.common import add_number
from transferkit.core.config import TASKS, option_default


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="convert or check data sets",
        description="Data set tools: convert between annotation formats.",
    )
    actions = p.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    _register_convert(actions)
    _register_check(actions)


def _register_convert(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "convert",
        help="convert boxes between COCO, Pascal VOC and YOLO; class masks to and from COCO",
        description="Read SRC in one annotation format and write DST (a new folder) in another; "
        "images are copied and splits kept.",
    )
    p.add_argument("src", metavar="SRC", help="annotation file or data set folder")
    p.add_argument("dst", metavar="DST", help="output folder (new or empty)")
    # Format names are checked by the converter against the FORMATS registry (did-you-mean
    # included), so a new format needs no change here.
    p.add_argument(
        "--from",
        dest="src_format",
        default="auto",
        metavar="FORMAT",
        help="auto (default), a box format (coco, voc, yolo …) or masks",
    )
    p.add_argument(
        "--to",
        dest="dst_format",
        required=True,
        metavar="FORMAT",
        help="a box format that can be written (coco, voc, yolo …) or masks",
    )
    p.add_argument(
        "--segmentation",
        default="polygon",
        choices=["polygon", "rle"],
        help="masks -> coco: outline each region as polygons (default) or encode it as RLE (exact)",
    )
    p.add_argument(
        "--on-bad-image",
        dest="on_bad",
        default="fail",
        choices=["fail", "skip"],
        help="bad annotations: stop (default) or skip and count them",
    )
    p.add_argument("--strict", action="store_true", help="boxes outside the image are an error")
    p.set_defaults(func=_run_convert)


def _run_convert(args: argparse.Namespace) -> int:
    from transferkit.api import convert_dataset

    if "masks" in (args.src_format, args.dst_format):
        return _run_convert_masks(args)
    summary = convert_dataset(
        args.src, args.dst, args.src_format, args.dst_format, on_bad=args.on_bad, strict=args.strict
    )
    splits = ", ".join(
        f"{name} {s['images']} images / {s['objects']} objects"
        for name, s in summary["splits"].items()
    )
    n_classes = len(summary["classes"])
    print(f"converted {summary['from']} -> {summary['to']}: {splits}; {n_classes} classes")
    for kind, count in summary["issues"].items():
        print(f"  {kind}: {count}")
    if summary["ignore_regions_dropped"]:
        dropped = summary["ignore_regions_dropped"]
        print(
            f"  crowd / difficult (ignore) regions left out, {args.dst_format} cannot mark them: "
            f"{dropped}"
        )
    print(f"written to {args.dst}")
    return 0


def _run_convert_masks(args: argparse.Namespace) -> int:
    """Class masks <-> COCO instances (polygons or RLE); see ``data.mask_convert``."""
    from transferkit.api import coco_to_masks, masks_to_coco
    from transferkit.core.errors import ConfigError

    if args.src_format == "masks" and args.dst_format == "coco":
        summary = masks_to_coco(args.src, args.dst, args.segmentation, on_bad=args.on_bad)
    elif args.dst_format == "masks" and args.src_format in ("auto", "coco"):
        summary = coco_to_masks(args.src, args.dst, on_bad=args.on_bad)
    else:
        raise ConfigError(
            f"cannot convert {args.src_format} to {args.dst_format}",
            hint="masks convert to and from COCO: --from masks --to coco, or --from coco --to masks",
        )
    splits = ", ".join(f"{name} {s['images']} images" for name, s in summary["splits"].items())
    print(
        f"converted {args.src_format} -> {args.dst_format}: {splits}; {len(summary['classes'])} classes"
    )
    if summary["skipped"]:
        print(f"  skipped image/mask pairs: {summary['skipped']}")
    print(f"written to {args.dst}")
    return 0


def _register_check(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "check",
        help="read a data set as training would and list every problem",
        description="Summary (images per class and split, sizes, formats) and every problem: "
        "corrupt files, exact duplicates across splits (leakage), empty classes, bad "
        "annotations. Exit status 1 when errors were found, 0 when the data is usable.",
    )
    p.add_argument("path", metavar="PATH", help="data folder or annotation file")
    p.add_argument("--task", default="classify", choices=list(TASKS))
    p.add_argument("--format", default="auto", help="as for train: auto, folder, csv, coco …")
    add_number(p, "--val-fraction", default=option_default("val_fraction"))
    add_number(p, "--test-fraction", default=option_default("test_fraction"))
    add_number(
        p,
        "--split-seed",
        default=0,
        help="seed of the train/val/test carve, as train's --split-seed",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from transferkit.api import check_dataset, format_report
    from transferkit.cli.common import print_json

    report = check_dataset(
        args.path,
        task=args.task,
        format=args.format,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        seed=args.split_seed,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(format_report(report))
    return 1 if report.errors else 0

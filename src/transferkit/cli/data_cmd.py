"""``transferkit data``: work on data sets without training (``data convert`` …).

Each action is a sub-command registered by a small ``_register_<action>`` function here, so more
actions (``data check``) plug in beside ``convert`` without touching the others.
"""

from __future__ import annotations

import argparse

BOX_FORMATS = ("coco", "voc", "yolo")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="convert or check data sets",
        description="Data set tools: convert between annotation formats.",
    )
    actions = p.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    _register_convert(actions)


def _register_convert(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "convert",
        help="convert box annotations between COCO, Pascal VOC and YOLO",
        description="Read SRC in one annotation format and write DST (a new folder) in another; "
        "images are copied and splits kept.",
    )
    p.add_argument("src", metavar="SRC", help="annotation file or data set folder")
    p.add_argument("dst", metavar="DST", help="output folder (new or empty)")
    p.add_argument("--from", dest="src_format", default="auto", choices=["auto", *BOX_FORMATS])
    p.add_argument("--to", dest="dst_format", required=True, choices=BOX_FORMATS)
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
    from transferkit.data.convert import convert_dataset

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
        print(f"  crowd / difficult (ignore) regions left out, YOLO cannot mark them: {dropped}")
    print(f"written to {args.dst}")
    return 0

"""The multi-label demo: 2x2 mosaics of the packaged Fashion-MNIST subset, labelled by the
classes they hold; real ImageNet weights (probe, then LP-FT gradual) against random init."""

from __future__ import annotations

from pathlib import Path

from transferkit.data.demo.fashion import class_folder_name, load_subset
from transferkit.data.demo.mosaics import write_mosaics
from transferkit.tasks.base import DemoRun, DemoSpec

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
COUNTS = {"train": 200, "val": 80, "test": 120}
DEMO_SETTINGS = {
    "backbone": "efficientnet_lite0",
    "img_size": 64,
    "epochs": 6,
    "batch_size": 32,
    "lr": 2e-3,
    "patience": None,
    "seed": 0,
}


def _prepare(out_dir: Path) -> dict[str, Path]:
    dest = out_dir / "fashion-mosaics"
    if (dest / "labels.csv").is_file():
        return {"data": dest / "labels.csv"}
    z = load_subset()
    pools = {
        s: (z["images"][z["split"] == c], z["labels"][z["split"] == c])
        for s, c in SPLIT_CODES.items()
    }
    names = [class_folder_name(str(n)) for n in z["class_names"]]
    return {"data": write_mosaics(dest, pools, COUNTS, names)}


DEMO = DemoSpec(
    task="multilabel",
    model="efficientnet_lite0",
    settings=DEMO_SETTINGS,
    runs=(
        DemoRun("pretrained, probe", "auto", "probe"),
        DemoRun("pretrained, gradual", "auto", "gradual"),
        DemoRun("random init, full", "none", "full"),
    ),
    metrics=("map_macro", "f1_macro"),
    prepare=_prepare,
    about=("demo data: 2x2 mosaics of the Fashion-MNIST subset (MIT, Zalando SE) in {data}",),
)

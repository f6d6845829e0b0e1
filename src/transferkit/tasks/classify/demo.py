"""The classification demo: real ImageNet weights vs random init on a Fashion-MNIST subset.

Three runs of efficientnet_lite0 on the same data, seed and budget — pretrained with the ``head``
strategy, pretrained with ``gradual`` unfreezing, and the same architecture from random init trained
in full — so the table shows what transfer buys on a small data set.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.data.demo.fashion import materialize_fashion_mnist
from transferkit.tasks.base import DemoRun, DemoSpec

# Chosen so that the three runs finish within about four minutes on two CPU cores.
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
    return {"data": materialize_fashion_mnist(out_dir / "fashion-mnist")}


DEMO = DemoSpec(
    task="classify",
    model="efficientnet_lite0",
    settings=DEMO_SETTINGS,
    runs=(
        DemoRun("pretrained, head", "auto", "head"),
        DemoRun("pretrained, gradual", "auto", "gradual"),
        DemoRun("random init, full", "none", "full"),
    ),
    metrics=("accuracy", "macro_f1"),
    prepare=_prepare,
    about=("demo data: Fashion-MNIST subset (MIT, Zalando SE) in {data}",),
)

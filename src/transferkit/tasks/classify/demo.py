"""The classification demo: real ImageNet weights vs random init on a Fashion-MNIST subset.

Three runs of efficientnet_lite0 on the same data, seed and budget — pretrained with the ``head``
strategy, pretrained with ``gradual`` unfreezing, and the same architecture from random init trained
in full — so the table shows what transfer buys on a small data set.
"""

from __future__ import annotations

import time
from pathlib import Path

from transferkit.core.config import RunConfig

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
DEMO_RUNS = (
    ("pretrained, head", "auto", "head"),
    ("pretrained, gradual", "auto", "gradual"),
    ("random init, full", "none", "full"),
)


def run_demo(out_dir: str | Path, quiet: bool = False) -> list[dict]:
    """Materialise the demo data under ``out_dir`` and train the three demo runs there."""
    from transferkit.data.demo.fashion import materialize_fashion_mnist
    from transferkit.engine.loop import fit

    out_dir = Path(out_dir)
    data = materialize_fashion_mnist(out_dir / "fashion-mnist")
    print(f"demo data: Fashion-MNIST subset (MIT, Zalando SE) in {data}")
    base = RunConfig(task="classify").with_values(path=str(data), quiet=quiet, **DEMO_SETTINGS)
    rows = []
    for i, (label, weights, strategy) in enumerate(DEMO_RUNS, start=1):
        print(
            f"\n[{i}/{len(DEMO_RUNS)}] {label}: efficientnet_lite0, weights {weights}, "
            f"strategy {strategy}"
        )
        cfg = base.with_values(weights=weights, strategy=strategy)
        run_dir = out_dir / "runs" / label.replace(", ", "-").replace(" ", "_")
        started = time.perf_counter()
        result = fit(cfg, run_dir)
        rows.append(
            {
                "run": label,
                "weights": "ImageNet" if weights == "auto" else "random",
                "strategy": strategy,
                "accuracy": result.metrics.get("accuracy"),
                "macro_f1": result.metrics.get("macro_f1"),
                "split": result.metrics.get("evaluated_split"),
                "seconds": round(time.perf_counter() - started, 1),
                "run_dir": str(result.run_dir),
            }
        )
    return rows

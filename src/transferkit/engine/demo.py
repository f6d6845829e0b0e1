"""The one demo runner: trains the runs of a task's :class:`~transferkit.tasks.base.DemoSpec`.

Every run of a demo uses the same data, seed and budget and differs only in its weights and
strategy, so the rows side by side show what transfer buys on a small data set.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from transferkit.core import console
from transferkit.core.config import RunConfig
from transferkit.engine.loop import fit
from transferkit.tasks.base import DemoRun, DemoSpec


def run_demo(spec: DemoSpec, out_dir: str | Path, quiet: bool = False) -> list[dict[str, Any]]:
    """Write the demo data under ``out_dir`` and train every run there; one row per run."""
    out_dir = Path(out_dir)
    data = spec.prepare(out_dir)
    for line in spec.about:
        console.info(line.format(**data))
    return [
        _train(spec, run, f"[{i}/{len(spec.runs)}]", data, out_dir, quiet)
        for i, run in enumerate(spec.runs, start=1)
    ]


def _train(
    spec: DemoSpec, run: DemoRun, step: str, data: dict[str, Path], out_dir: Path, quiet: bool
) -> dict[str, Any]:
    name = f"{run.data}: {run.label}" if run.data else run.label
    console.info(f"\n{step} {name}: {spec.model}, weights {run.weights}, strategy {run.strategy}")
    cfg = RunConfig(task=spec.task).with_values(
        path=str(data[run.data or "data"]), quiet=quiet, **spec.settings
    )
    cfg = cfg.with_values(weights=run.weights, strategy=run.strategy)
    folder = run.label.replace(", ", "-").replace(" ", "_")
    run_dir = out_dir / "runs" / (f"{run.data}-{folder}" if run.data else folder)
    started = time.perf_counter()
    result = fit(cfg, run_dir)
    row: dict[str, Any] = {
        "run": name,
        "weights": "ImageNet" if run.weights == "auto" else "random",
        "strategy": run.strategy,
    }
    row.update({k: result.metrics.get(k) for k in spec.metrics})
    intervals = result.metrics.get("ci") or {}
    row["ci"] = {k: intervals.get(k) for k in spec.metrics}  # 95 % bootstrap over test images
    row["split"] = result.metrics.get("evaluated_split")
    row["seconds"] = round(time.perf_counter() - started, 1)
    row["run_dir"] = str(result.run_dir)
    return row

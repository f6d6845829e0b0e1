"""Compare transfer strategies on one data set: same backbone, seed, split and epoch budget.

Each strategy is an ordinary run (its own run directory under the output folder), so every row
of the table can be evaluated, used for prediction or exported afterwards. Random init
(``with_scratch``) adds a ``full`` fine-tuning run from ``--weights none``: the baseline that
shows what the pretrained weights are worth. The output folder gets ``compare.json``,
``compare.csv`` and ``compare.png`` (accuracy / macro F1 and wall time per strategy).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, did_you_mean
from transferkit.core.fileio import atomic_write, atomic_write_text, write_json
from transferkit.engine.run import run
from transferkit.transfer.strategy import parse_strategy

NAMES = ("probe", "head", "gradual", "full", "auto", "partial:N")
DEFAULT = "probe,head,gradual,full"
COLUMNS = (
    "strategy",
    "weights",
    "accuracy",
    "macro_f1",
    "evaluated_split",
    "seconds",
    "trainable_parameters",
    "run_dir",
)


def parse_strategies(text: str | Sequence[str]) -> list[str]:
    """``"probe,head,gradual"`` into checked strategy names (did-you-mean for unknown ones)."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    items = [s for s in items if s]
    if not items:
        raise ConfigError("no strategies to compare", hint=f"e.g. --strategies {DEFAULT}")
    for item in items:
        if item in ("probe", "auto"):
            continue
        try:
            parse_strategy(item)
        except ConfigError:
            raise ConfigError(
                f"unknown strategy {item!r} in --strategies.{did_you_mean(item, NAMES)}",
                hint=f"valid strategies: {', '.join(NAMES)}",
            ) from None
    return list(dict.fromkeys(items))


def compare(
    data: str | Path,
    strategies: str | Sequence[str] = DEFAULT,
    *,
    backbone: str = "efficientnet_lite0",
    epochs: int = 3,
    with_scratch: bool = False,
    out: str | Path | None = None,
    seed: int = 0,
    config: RunConfig | None = None,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Run each strategy (plus random init with ``with_scratch``); one row per run.

    ``settings`` are further config fields by name (``img_size``, ``batch_size``, ``lr``,
    ``val_fraction`` …), the same for every run; ``config`` is the base they apply to.
    """
    names = parse_strategies(strategies)
    out = Path(out) if out else Path(f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    base = (config or RunConfig()).with_values(
        path=str(data), backbone=backbone, epochs=epochs, seed=seed, **settings
    )
    if base.data.unlabelled:
        raise ConfigError(
            "compare --unlabelled is not supported yet",
            hint="use train --unlabelled PATH: its semi.json holds the scores with and without "
            "the unlabelled images, side by side",
        )
    runs = [(name, base.with_values(strategy=name)) for name in names]
    if with_scratch:
        runs.append(("scratch", base.with_values(strategy="full", weights="none")))
    rows = []
    for label, cfg in runs:
        start = time.perf_counter()
        result = run(cfg, out / label.replace(":", ""))
        m = result.metrics
        rows.append(
            {
                "strategy": label,
                "weights": cfg.model.weights,
                "accuracy": m.get("accuracy"),
                "macro_f1": m.get("macro_f1"),
                "evaluated_split": m.get("evaluated_split"),
                "seconds": round(time.perf_counter() - start, 2),
                "trainable_parameters": trainable_parameters(result),
                "run_dir": str(result.run_dir),
            }
        )
    write_results(
        rows, out, {"data": str(data), "backbone": backbone, "epochs": epochs, "seed": seed}
    )
    return rows


def trainable_parameters(result) -> int | None:
    """Most parameters that trained in any epoch of a run (the probe: its linear head)."""
    probe = result.metrics.get("probe")
    if probe:
        return int(probe["trainable_parameters"])
    counts = [
        int(r["trainable_parameters"])
        for r in result.history
        if r.get("trainable_parameters") not in (None, "")
    ]
    return max(counts) if counts else None


def write_results(rows: list[dict[str, Any]], out: Path, setup: dict[str, Any]) -> None:
    """Write ``compare.json``, ``compare.csv`` and ``compare.png`` into ``out``, atomically."""
    write_json(out / "compare.json", {**setup, "rows": rows})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "compare.csv", buf.getvalue())
    atomic_write(out / "compare.png", lambda p: plot(rows, p, setup))


def plot(rows: list[dict[str, Any]], path: Path, setup: dict[str, Any]) -> None:
    """Accuracy and macro F1 (left) and wall time (right) per strategy, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure with the Agg canvas draws headless and leaves pyplot's global state alone.
    fig = Figure(figsize=(9, 0.6 * len(rows) + 1.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharey=True)
    labels = [r["strategy"] for r in rows]
    y = range(len(rows))
    acc = [r["accuracy"] or 0.0 for r in rows]
    f1 = [r["macro_f1"] or 0.0 for r in rows]
    left.barh([i - 0.2 for i in y], acc, height=0.4, label="accuracy")
    left.barh([i + 0.2 for i in y], f1, height=0.4, label="macro F1")
    left.set_yticks(list(y), labels)
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.legend(loc="lower right", fontsize="small")
    left.set_title(f"{setup.get('backbone', '')}, {setup.get('epochs', '')} epochs")
    right.barh(list(y), [r["seconds"] for r in rows], color="tab:gray")
    right.set_xlabel("wall time (s)")
    fig.savefig(path, format="png", dpi=100)

"""Compare transfer strategies on one data set: same backbone, seed, split and epoch budget.

Each strategy is an ordinary run (its own run directory under the output folder), so every row
of the table can be evaluated, used for prediction or exported afterwards. Random init
(``with_scratch``) adds a ``full`` fine-tuning run from ``--weights none``: the baseline that
shows what the pretrained weights are worth. The output folder gets ``compare.json``,
``compare.csv`` and ``compare.png`` (accuracy / macro F1 and wall time per strategy).

All runs share the split, so they are scored on the same test images and every pair is tested
paired (``engine.significance``): each row says which runs it beats at p < 0.05, and
``compare.json`` holds every pair's tests and a one-line verdict that names a winner only when
one beats all the others.
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
from transferkit.engine.significance import better_than, compare_runs, verdict
from transferkit.transfer.strategy import parse_strategy

NAMES = ("probe", "head", "gradual", "full", "auto", "partial:N")
DEFAULT = "probe,head,gradual,full"
COLUMNS = (
    "strategy",
    "weights",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "macro_f1",
    "macro_f1_low",
    "macro_f1_high",
    "better_than",
    "evaluated_split",
    "seconds",
    "trainable_parameters",
    "run_dir",
)
# The two scores of a row, per task (the monitored metric first); the CSV names its columns so.
SCORES = {"classify": ("accuracy", "macro_f1"), "multilabel": ("map_macro", "f1_macro")}


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
    scores = SCORES.get(base.task)
    if scores is None:
        raise ConfigError(
            f"compare is for classification, not task {base.task!r}",
            hint=f"tasks that compare: {', '.join(SCORES)}",
        )
    runs = [(name, base.with_values(strategy=name)) for name in names]
    if with_scratch:
        runs.append(("scratch", base.with_values(strategy="full", weights="none")))
    rows, metrics = [], []
    for label, cfg in runs:
        start = time.perf_counter()
        result = run(cfg, out / label.replace(":", ""))
        rows.append(_row(label, cfg, result, time.perf_counter() - start, scores))
        metrics.append(result.metrics)
    labels = [r["strategy"] for r in rows]
    pairs = compare_runs(labels, metrics)
    for row in rows:
        row["better_than"] = "; ".join(better_than(row["strategy"], pairs))
    setup = {"data": str(data), "backbone": backbone, "epochs": epochs, "seed": seed}
    setup["verdict"] = verdict(labels, [r[scores[0]] for r in rows], pairs)
    setup["pairs"] = pairs
    write_results(rows, out, setup)
    return rows


def _row(
    label: str, cfg: RunConfig, result, seconds: float, scores: tuple[str, str]
) -> dict[str, Any]:
    """One table row: the run's two headline numbers (``scores``) with their 95 % intervals."""
    m, ci = result.metrics, result.metrics.get("ci") or {}
    row = {"strategy": label, "weights": cfg.model.weights}
    for score in scores:
        low, high = ci.get(score) or [None, None]
        row.update({score: m.get(score), f"{score}_low": low, f"{score}_high": high})
    return {
        **row,
        "better_than": "",  # filled in once every run is in
        "evaluated_split": m.get("evaluated_split"),
        "seconds": round(seconds, 2),
        "trainable_parameters": trainable_parameters(result),
        "run_dir": str(result.run_dir),
    }


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
    """Write ``compare.json`` (with the paired tests of every pair of runs), ``compare.csv`` and
    ``compare.png`` into ``out``, atomically."""
    write_json(out / "compare.json", {**setup, "rows": rows})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "compare.csv", buf.getvalue())
    atomic_write(out / "compare.png", lambda p: plot(rows, p, setup))


def plot(rows: list[dict[str, Any]], path: Path, setup: dict[str, Any]) -> None:
    """The two scores (accuracy and macro F1; macro mAP and macro F1 for multi-label) (left) and
    wall time (right) per strategy, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A bare Figure with the Agg canvas draws headless and leaves pyplot's global state alone.
    fig = Figure(figsize=(9, 0.6 * len(rows) + 1.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharey=True)
    labels = [r["strategy"] for r in rows]
    y = range(len(rows))
    first, second = list(rows[0])[2:6:3] if rows else COLUMNS[2:6:3]  # the row's two scores
    acc = [r[first] or 0.0 for r in rows]
    f1 = [r[second] or 0.0 for r in rows]
    err = [
        [max(a - (r.get(f"{first}_low") or a), 0) for a, r in zip(acc, rows, strict=True)],
        [max((r.get(f"{first}_high") or a) - a, 0) for a, r in zip(acc, rows, strict=True)],
    ]
    left.barh([i - 0.2 for i in y], acc, height=0.4, xerr=err, label=f"{first} (95% CI)")
    left.barh([i + 0.2 for i in y], f1, height=0.4, label=second)
    left.set_yticks(list(y), labels)
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.legend(loc="lower right", fontsize="small")
    left.set_title(f"{setup.get('backbone', '')}, {setup.get('epochs', '')} epochs")
    right.barh(list(y), [r["seconds"] for r in rows], color="tab:gray")
    right.set_xlabel("wall time (s)")
    fig.savefig(path, format="png", dpi=100)

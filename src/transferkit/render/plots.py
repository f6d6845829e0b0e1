"""Plots of the run report, drawn headless with matplotlib's Agg canvas, returned as PNG bytes.

Figures are made with ``matplotlib.figure.Figure`` and an Agg canvas directly rather than through
``pyplot``: no global backend is switched and no figure is kept alive after it is drawn, so the
report works the same inside a training process, a notebook or a server.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 90
# History columns that are not metrics of the model.
_NOT_METRICS = {"epoch", "train_loss", "val_loss", "seconds", "trainable_parameters", "num_samples"}
MAX_METRIC_LINES = 6


def figure(width: float = 5.6, height: float = 3.4) -> Figure:
    """A new figure with an Agg canvas attached."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _column(history: list[dict[str, Any]], key: str) -> list[float]:
    out = []
    for row in history:
        v = row.get(key)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        # COCO writes -1 for "no ground truth in that range": a gap, not a value.
        out.append(float(v) if ok and v != -1 else math.nan)
    return out


def metric_columns(history: list[dict[str, Any]], monitor: str | None = None) -> list[str]:
    """Numeric model-metric columns of a history, the monitored one first, at most six."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    cols = [
        k
        for k in keys
        if k not in _NOT_METRICS
        and not k.startswith("lr_")
        and any(not math.isnan(v) for v in _column(history, k))
    ]
    if monitor in cols:
        cols.remove(monitor)
        cols.insert(0, monitor)
    return cols[:MAX_METRIC_LINES]


def learning_curves(
    history: list[dict[str, Any]], monitor: str | None = None
) -> list[tuple[str, bytes]]:
    """Loss, metrics, learning rate per group and trainable parameters over the epochs."""
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    plots: list[tuple[str, bytes]] = []
    panels = [
        ("Loss", ["train_loss", "val_loss"], "loss", False),
        ("Validation metrics", metric_columns(history, monitor), "value", False),
        ("Learning rate per group", [k for k in history[0] if k.startswith("lr_")], "LR", True),
        ("Trainable parameters", ["trainable_parameters"], "parameters", False),
    ]
    for title, columns, ylabel, log in panels:
        series = {c: _column(history, c) for c in columns}
        series = {c: v for c, v in series.items() if any(not math.isnan(x) for x in v)}
        if log:  # a frozen group's LR of 0 cannot sit on a log axis
            series = {c: [x if x > 0 else math.nan for x in v] for c, v in series.items()}
            series = {c: v for c, v in series.items() if any(not math.isnan(x) for x in v)}
        if not series:
            continue
        fig = figure()
        ax = fig.add_subplot()
        for name, values in series.items():
            ax.plot(epochs, values, marker="o", markersize=3, label=name.removeprefix("lr_"))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(series) > 3:  # beside the axes: with many groups it would hide the lines
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        elif len(series) > 1:
            ax.legend(fontsize=7)
        plots.append((title, to_png(fig)))
    return plots


def confusion_matrix(matrix: list[list[int]], names: list[str], title: str) -> bytes:
    """Counts per (true, predicted) class; colour is the share of each true class (row)."""
    cm = np.asarray(matrix, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(names)
    side = min(8.0, 2.0 + 0.3 * n)
    fig = figure(side + 1.0, side)
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    ax.set_xticks(range(n), labels=names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels=names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if n <= 25:
        for i in range(n):
            for j in range(n):
                colour = "white" if share[i, j] > 0.5 else "black"
                ax.text(
                    j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7, color=colour
                )
    return to_png(fig)


def class_bars(values: dict[str, dict[str, float | None]], keys: list[str], title: str) -> bytes:
    """Horizontal bars per class, one bar per key (precision, recall, f1; AP; IoU …).

    Missing values (``None``, or COCO's -1 for a class with no ground truth) are drawn as "n/a".
    """
    names = list(values)
    n, k = len(names), len(keys)
    fig = figure(5.0, min(12.0, 1.4 + 0.16 * n * k**0.5 + 0.1 * n))
    ax = fig.add_subplot()
    height = 0.8 / k
    for j, key in enumerate(keys):
        raw = [values[c].get(key) for c in names]
        vals = [v if isinstance(v, (int, float)) and v is not None and v >= 0 else 0.0 for v in raw]
        ys = np.arange(n) + (j - (k - 1) / 2) * height
        ax.barh(ys, vals, height=height, label=key)
        for y, v in zip(ys, raw, strict=True):
            if not isinstance(v, (int, float)) or v is None or v < 0:
                ax.text(0.01, y, "n/a", va="center", fontsize=7, color="grey")
    ax.set_yticks(range(n), labels=names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if k > 1:  # below the axes, so it never hides a bar
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=k)
    return to_png(fig)


def label_curve(images: list[int], accuracies: list[float], title: str) -> bytes:
    """Validation accuracy against the number of labelled training images (a learning curve).

    The x axis is logarithmic (base 2), so each doubling of the labels is the same step: the
    slope of the last step is what "would more labels help?" reads.
    """
    fig = figure()
    ax = fig.add_subplot()
    ax.plot(images, accuracies, marker="o")
    top = min(1.0, max(accuracies) + 0.08)
    ax.set_ylim(max(0.0, min(accuracies) - 0.1), top)
    for x, y in zip(images, accuracies):
        below = y > top - 0.04  # no room above: the value goes under its point
        offset = (0, -14) if below else (0, 6)
        ax.annotate(f"{y:.3f}", (x, y), textcoords="offset points", xytext=offset, ha="center")
    ax.set_xscale("log", base=2)
    ax.set_xticks(images, labels=[str(n) for n in images])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images")
    ax.set_ylabel("val accuracy (linear probe)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return to_png(fig)

"""Sections every run has, whatever its task: overview, config and plan, data, curves, metrics.

They read only the files of the run directory (config.yaml, plan.json, data.json, history.csv,
metrics.json), so they render even when the model or the data set is no longer available. The
data summary and the metrics differ between tasks; they are rendered from their JSON shape
(numbers, per-split tables, per-class dictionaries), not from a list of known keys.
"""

from __future__ import annotations

import json
from typing import Any

from transferkit.core.display import seconds
from transferkit.render import plots
from transferkit.render.html import Section, fmt, heading, image, note, para, pre, table

_LISTED = 50  # rows of a long list shown in the report; the rest are counted


def overview(cfg, metrics: dict, history: list[dict], monitor: str) -> Section:
    """Task, backbone, recipe and the headline numbers."""
    best = None
    scored = [r for r in history if isinstance(r.get(monitor), (int, float))]
    if scored:
        best = max(scored, key=lambda r: r[monitor])
    rows = [
        ["task", cfg.task],
        ["backbone", f"{cfg.model.backbone} (weights: {cfg.model.weights})"],
        ["strategy", cfg.transfer.strategy],
        # Epoch 0 (the probe-initialised model of LP-FT) is evaluated, not run.
        ["epochs run", f"{sum(r.get('epoch') != 0 for r in history)} of {cfg.train.epochs}"],
        ["best epoch", f"{best['epoch']} ({monitor} {fmt(best[monitor])})" if best else "n/a"],
        ["evaluated split", metrics.get("evaluated_split", "n/a")],
        [monitor, metrics.get(monitor, "n/a")],
        [f"{monitor} 95% CI", _with_ci(metrics, monitor)[1] or "n/a"],
        ["training time", seconds(metrics.get("train_seconds")) or "n/a"],
    ]
    return Section("Overview", table(["", "value"], rows))


def config_and_plan(config_text: str, plan: dict | None) -> Section:
    """The resolved config (YAML) and the freeze plan, one row per parameter group."""
    body = heading("Freeze plan")
    groups = (plan or {}).get("groups")
    if groups:
        rows = []
        for g in groups:
            flags = g.get("trainable_by_epoch") or []
            rows.append(
                [
                    g.get("group"),
                    "pretrained" if g.get("pretrained") else "new",
                    g.get("parameters"),
                    g.get("lr_multiplier"),
                    _epochs_trained(flags),
                ]
            )
        summary = {k: v for k, v in plan.items() if k != "groups"}
        body += json_block(summary)
        body += table(["group", "kind", "parameters", "LR multiplier", "trains in epochs"], rows)
    elif plan:
        body += json_block(plan)
    else:
        body += note("plan.json is missing")
    body += heading("Resolved configuration (config.yaml)") + pre(config_text)
    return Section("Configuration and freeze plan", body)


def _epochs_trained(flags: list[bool]) -> str:
    on = [i + 1 for i, f in enumerate(flags) if f]
    if not on:
        return "never (frozen)"
    if on == list(range(on[0], len(flags) + 1)):
        return "all" if on[0] == 1 else f"{on[0]} to {len(flags)}"
    return ", ".join(map(str, on))


def data_summary(data: dict | None) -> Section:
    """data.json: counts per class and split, image sizes, skipped files, as tables."""
    if not data:
        return Section("Data", note("data.json is missing"))
    return Section("Data", json_block(data))


def learning_curves(history: list[dict], monitor: str) -> Section:
    """Loss, metrics and LR per group over the epochs (history.csv)."""
    if not history:
        return Section("Learning curves", note("history.csv is missing or empty"))
    figs = plots.learning_curves(history, monitor)
    return Section("Learning curves", "".join(image(png, title) for title, png in figs))


def final_metrics(metrics: dict | None, class_names: list[str]) -> Section:
    """metrics.json: scalars per split, per-class bars, confusion matrices."""
    if not metrics:
        return Section("Final metrics", note("metrics.json is missing (the run did not finish)"))
    splits = [s for s in ("val", "test") if isinstance(metrics.get(s), dict)]
    body = ""
    if splits:
        names: list[str] = []
        for s in splits:
            names += [k for k, v in metrics[s].items() if _scalar(v) and k not in names]
        rows = [[k] + [c for s in splits for c in _with_ci(metrics[s], k)] for k in names]
        body += table(["metric"] + [c for s in splits for c in (s, f"{s} 95% CI")], rows)
    # Intervals sit beside their metrics; per-image outcomes are data for paired tests.
    shown_elsewhere = {*splits, "ci", "per_image"}
    other = {k: v for k, v in metrics.items() if k not in shown_elsewhere and not _scalar(v)}
    if other:
        body += json_block(other)
    for s in splits:
        body += _split_plots(s, metrics[s], class_names)
    return Section("Final metrics", body)


def _with_ci(m: dict, key: str) -> list[Any]:
    """The value of ``key`` in split metrics ``m`` and its bootstrap interval ("" when none)."""
    ci = (m.get("ci") or {}).get(key)
    return [m.get(key), f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else ""]


def _split_plots(split: str, m: dict, class_names: list[str]) -> str:
    out = ""
    if isinstance(m.get("confusion_matrix"), list) and class_names:
        title = f"confusion matrix ({split})"
        out += image(plots.confusion_matrix(m["confusion_matrix"], class_names, title), title)
    nested = m.get("per_class")
    if isinstance(nested, dict) and nested and all(isinstance(v, dict) for v in nested.values()):
        keys = [k for k in ("precision", "recall", "f1") if k in next(iter(nested.values()))]
        out += image(plots.class_bars(nested, keys, f"per class ({split})"), f"per class {split}")
    flat = {
        k: v
        for k, v in m.items()
        if isinstance(v, dict)
        and v
        and k != "ci_settings"  # how the intervals were made, not a value per class
        and all(v2 is None or _scalar(v2) for v2 in v.values())
    }
    if flat:
        classes = list(dict.fromkeys(c for v in flat.values() for c in v))
        values = {c: {k: flat[k].get(c) for k in flat} for c in classes}
        keys = list(flat)
        title = f"{', '.join(keys)} ({split})"
        out += image(plots.class_bars(values, keys, title), title)
    return out


def json_block(obj: Any) -> str:
    """Render a JSON value as tables: scalars as key/value rows, nested tables, short lists."""
    if not isinstance(obj, dict):
        return _value_html(obj)
    scalars = [[k, v] for k, v in obj.items() if _scalar(v) or v is None]
    out = table(["", "value"], scalars) if scalars else ""
    for key, value in obj.items():
        if _scalar(value) or value is None:
            continue
        # Small tables sit side by side; a wide one takes the row it needs.
        out += f'<div class="block">{heading(key.replace("_", " "))}{_value_html(value)}</div>'
    return out


def _value_html(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return para("none")
        inner = list(value.values())
        if all(
            isinstance(v, dict) and all(_scalar(x) or x is None for x in v.values()) for v in inner
        ):
            rows_keys = list(dict.fromkeys(k for v in inner for k in v))
            cols = list(value)
            rows = [[r] + [value[c].get(r) for c in cols] for r in rows_keys]
            return table([""] + cols, rows)
        if all(_scalar(v) or v is None for v in inner):
            return table(["", "value"], [[k, v] for k, v in value.items()])
        return pre(json.dumps(value, indent=2, default=str)[:20000])
    if isinstance(value, list):
        if not value:
            return para("none")
        if all(_scalar(v) for v in value):
            more = f" … and {len(value) - _LISTED} more" if len(value) > _LISTED else ""
            return para(", ".join(fmt(v) for v in value[:_LISTED]) + more)
        if all(isinstance(v, dict) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            rows = [
                [v.get(c) if _scalar(v.get(c)) else json.dumps(v.get(c)) for c in cols]
                for v in value[:_LISTED]
            ]
            more = para(f"… and {len(value) - _LISTED} more") if len(value) > _LISTED else ""
            return table(cols, rows) + more
        return pre(json.dumps(value[:_LISTED], indent=2, default=str))
    return para(str(value))


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool))

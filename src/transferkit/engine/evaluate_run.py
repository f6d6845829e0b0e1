"""``evaluate`` of a run: the best checkpoint's metrics on a split of its data (or other data).

The final evaluation of training already scored the run's own val / test split and kept the
per-image predictions (``runs.predictions``); evaluating that split again, with the same
checkpoint and unchanged files, reads them instead of running the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from transferkit.core.config import RunConfig
from transferkit.core.errors import DatasetError
from transferkit.core.fileio import read_json
from transferkit.engine.evaluation import run_evaluation
from transferkit.runs import predictions as stored
from transferkit.runs.rundir import RunDir, load_run
from transferkit.tasks import get_task


def evaluate_run(
    run_dir: str | Path,
    data: str | Path | None = None,
    split: str | None = None,
    batch_size: int = 32,
    use_stored: bool = True,
) -> dict[str, Any]:
    """Metrics of a run's best checkpoint on ``split`` of its data (or of ``data``).

    ``use_stored`` False runs the model even where the run's stored predictions would do.
    """
    run = RunDir(run_dir)
    run.require_run()
    class_names, data_config = run.read_classes()
    cfg = run.read_config().with_values(path=str(data) if data else None)
    task = get_task(cfg.task, cfg)
    splits = task.load_data(cfg, data_config)
    _check_classes(cfg, splits.class_names, class_names)
    chosen = split or ("test" if splits.test is not None and len(splits.test) else "val")
    dataset = splits.test if chosen == "test" else splits.val
    if dataset is None or len(dataset) == 0:
        raise DatasetError(
            f"{cfg.data.path} has no '{chosen}' split",
            hint="use --split val, or add a test split to the data",
        )
    metrics = stored_metrics(run, chosen, dataset) if use_stored else None
    if metrics is None:
        handle = load_run(run_dir)
        loader = DataLoader(dataset, batch_size=batch_size, collate_fn=task.collate)
        model, names = handle.model, handle.class_names
        metrics = run_evaluation(None, task, model, loader, names, intervals=True)
    metrics.pop("per_image", None)  # kept in a run's metrics.json for paired tests; noise here
    return {"split": chosen, **metrics}


def stored_metrics(run: RunDir, split: str, dataset) -> dict[str, Any] | None:
    """The final evaluation's metrics of ``split`` when its stored predictions still hold for
    the run's best checkpoint and ``dataset`` as it is today (files, labels, sizes, mtimes)."""
    if not run.metrics.is_file() or stored.read_split(run.path, split, dataset) is None:
        return None
    metrics = read_json(run.metrics).get(split)
    return dict(metrics) if isinstance(metrics, dict) else None


def _check_classes(cfg: RunConfig, found: list[str], known: list[str]) -> None:
    missing = sorted(set(found) - set(known))
    if missing:
        raise DatasetError(
            f"{cfg.data.path} has classes the run was not trained on: {', '.join(missing[:5])}",
            hint=f"the run knows: {', '.join(known[:10])}",
        )
    if found != known:
        raise DatasetError(
            f"{cfg.data.path}: class list differs from the run's ({len(found)} vs "
            f"{len(known)} classes)",
            hint="evaluate on data with the same class folders / categories as training",
        )

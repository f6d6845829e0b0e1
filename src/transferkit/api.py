"""The Python API; the CLI is a thin layer over these functions.

The whole transfer recipe in a few lines::

    import transferkit as tk
    result = tk.fit("my_images/", backbone="efficientnet_lite0", strategy="gradual", epochs=8)
    print(tk.evaluate(result.run_dir)["accuracy"])
    print(tk.predict(result.run_dir, ["photo.jpg"], top_k=3))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.tasks import get_task
from transferkit.data.datasets import DataSplits
from transferkit.transfer.model import TransferModel
from transferkit.transfer.plan import FreezePlan, build_plan
from transferkit.transfer.strategy import parse_strategy


def load_dataset(
    path: str | Path,
    task: str = "classify",
    backbone: str = "efficientnet_lite0",
    weights: str = "auto",
    **settings: Any,
) -> DataSplits:
    """Read a data set as training would (splits, transforms of ``backbone``'s weights)."""
    from transferkit.zoo import create_backbone

    cfg = RunConfig(task=task).with_values(path=str(path), backbone=backbone, **settings)
    data_config = create_backbone(backbone, weights=weights).data_config
    return get_task(task).load_data(cfg, data_config)


def create_model(
    backbone: str, num_classes: int, task: str = "classify", weights: str = "auto", **settings: Any
) -> TransferModel:
    """A pretrained ``backbone`` with new layers on top for ``num_classes`` classes."""
    from transferkit.zoo import create_backbone

    cfg = RunConfig(task=task).with_values(backbone=backbone, weights=weights, **settings)
    bb = create_backbone(backbone, weights=weights)
    return get_task(task).build_model(bb, num_classes, cfg.model)


def fit(
    data: str | Path | None = None,
    out: str | Path | None = None,
    config: RunConfig | str | Path | None = None,
    resume: bool = False,
    **settings: Any,
):
    """Train a run; ``settings`` are config fields by name (backbone, strategy, epochs, lr…).

    Returns an ``engine.loop.RunResult`` (run directory, final metrics, history, seconds).
    """
    from transferkit.cli.train_cmd import default_run_dir
    from transferkit.engine.loop import fit as _fit
    from transferkit.runs.rundir import RunDir

    if resume:
        if out is None:
            raise ConfigError("resume=True needs out= (the run directory to continue)")
        run = RunDir(out)
        run.require_run()
        return _fit(RunConfig.load(run.config), run.path, resume=True)
    if isinstance(config, (str, Path)):
        config = RunConfig.load(config)
    cfg = (config or RunConfig()).with_values(path=str(data) if data else None, **settings)
    if not cfg.data.path or not Path(cfg.data.path).exists():
        raise DatasetError(f"data path not found: {cfg.data.path}", hint="pass data=PATH")
    return _fit(cfg, Path(out) if out else default_run_dir(cfg))


def evaluate(
    run_dir: str | Path,
    data: str | Path | None = None,
    split: str | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Metrics of a run's best checkpoint on ``split`` of its data (or of ``data``)."""
    from torch.utils.data import DataLoader

    from transferkit.engine.evaluation import run_evaluation
    from transferkit.runs.rundir import load_run

    handle = load_run(run_dir)
    cfg = handle.config.with_values(path=str(data) if data else None)
    task = get_task(cfg.task)
    splits = task.load_data(cfg, handle.data_config)
    missing = sorted(set(splits.class_names) - set(handle.class_names))
    if missing:
        raise DatasetError(
            f"{cfg.data.path} has classes the run was not trained on: {', '.join(missing[:5])}",
            hint=f"the run knows: {', '.join(handle.class_names[:10])}",
        )
    if splits.class_names != handle.class_names:
        raise DatasetError(
            f"{cfg.data.path}: class list differs from the run's ({len(splits.class_names)} vs "
            f"{len(handle.class_names)} classes)",
            hint="evaluate on data with the same class folders / categories as training",
        )
    chosen = split or ("test" if splits.test is not None and len(splits.test) else "val")
    dataset = splits.test if chosen == "test" else splits.val
    if dataset is None or len(dataset) == 0:
        raise DatasetError(
            f"{cfg.data.path} has no '{chosen}' split",
            hint="use --split val, or add a test split to the data",
        )
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=task.collate)
    metrics = run_evaluation(None, task, handle.model, loader, handle.class_names)
    return {"split": chosen, **metrics}


def evaluate_predictions(task: str, data: str | Path, predictions: str | Path) -> dict[str, Any]:
    """Score a predictions file made by any tool against the ground truth in ``data``."""
    hook = _hook(task, "evaluate_predictions", "--predictions")
    return hook(Path(data), Path(predictions), {})


def predict(
    run_dir: str | Path, paths: list[str | Path], out: str | Path | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Predictions of a run for image files or folders; ``out`` writes them (JSON / CSV / …)."""
    from transferkit.runs.rundir import load_run

    if str(run_dir).endswith(".onnx"):
        from transferkit.export.onnx_predict import predict_onnx

        return predict_onnx(Path(run_dir), paths, out=out, **options)
    handle = load_run(run_dir)
    task_name = handle.config.task
    predictions = _hook(task_name, "predict_paths", "predict")(handle, list(paths), options)
    if out:
        _hook(task_name, "write_predictions", "predict --out")(predictions, Path(out))
    return predictions


def plan(
    backbone: str,
    strategy: str,
    task: str = "classify",
    epochs: int = 10,
    num_classes: int = 10,
    **settings: Any,
) -> FreezePlan:
    """The freeze plan of ``strategy`` on ``backbone`` for ``task``, without training."""
    from transferkit.zoo import create_backbone

    cfg = RunConfig(task=task).with_values(
        backbone=backbone, strategy=strategy, epochs=epochs, **settings
    )
    t = cfg.transfer
    parsed = parse_strategy(strategy, unfreeze_every=t.unfreeze_every, lr_decay=t.lr_decay, bn=t.bn)
    model = get_task(task).build_model(
        create_backbone(backbone, weights="none"), num_classes, cfg.model
    )
    return build_plan(model, parsed, epochs)


def _hook(task_name: str, name: str, what: str):
    hook = getattr(get_task(task_name), name, None)
    if hook is None:
        raise ConfigError(f"{what} is not available for task {task_name!r} in this version")
    return hook

"""The Python API; the CLI is a thin layer over these functions.

The whole transfer recipe in a few lines::

    import transferkit as tk
    result = tk.fit("my_images/", backbone="efficientnet_lite0", strategy="gradual", epochs=8)
    print(tk.evaluate(result.run_dir)["accuracy"])
    print(tk.predict(result.run_dir, ["photo.jpg"], top_k=3))

Besides training and using runs: ranking backbones (:func:`rank`), comparing strategies
(:func:`compare`), export (:func:`export`), reports (:func:`write_report`), data checks and
conversions, the zoo and the weight store. The command line calls only these.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transferkit import zoo
from transferkit.core.config import RunConfig, resolved_bn
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.check.dataset import check_dataset, format_report
from transferkit.data.convert import convert_dataset
from transferkit.data.datasets import DataSplits
from transferkit.data.mask_convert import coco_to_masks, masks_to_coco
from transferkit.engine.compare import compare, parse_strategies
from transferkit.engine.curve import CurveResult, run_curve
from transferkit.engine.demo import run_demo
from transferkit.engine.evaluate_run import evaluate_run
from transferkit.engine.run import run as _run
from transferkit.export import export
from transferkit.export.onnx_export import sidecar_path
from transferkit.export.onnx_predict import predict_onnx
from transferkit.report import write_report
from transferkit.runs.record import RunResult, refuse_existing, resumed_config
from transferkit.runs.rundir import load_run
from transferkit.tasks import get_task
from transferkit.transfer.curve import DEFAULT_FRACTIONS, parse_fractions
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.lpft import describe_init, resolve_init
from transferkit.transfer.model import TransferModel
from transferkit.transfer.plan import FreezePlan, build_plan
from transferkit.transfer.rank import rank
from transferkit.transfer.strategy import parse_strategy
from transferkit.zoo import list_backbones
from transferkit.zoo.listing import MAX_ROWS
from transferkit.zoo.weights import store as weight_store


def load_dataset(
    path: str | Path,
    task: str = "classify",
    backbone: str = "efficientnet_lite0",
    weights: str = "auto",
    **settings: Any,
) -> DataSplits:
    """Read a data set as training would (splits, transforms of ``backbone``'s weights)."""
    cfg = RunConfig(task=task).with_values(path=str(path), backbone=backbone, **settings)
    data_config = zoo.create_backbone(backbone, weights=weights).data_config
    return get_task(task).load_data(cfg, data_config)


def create_model(
    backbone: str, num_classes: int, task: str = "classify", weights: str = "auto", **settings: Any
) -> TransferModel:
    """A pretrained ``backbone`` with new layers on top for ``num_classes`` classes."""
    cfg = RunConfig(task=task).with_values(backbone=backbone, weights=weights, **settings)
    bb = zoo.create_backbone(backbone, weights=weights)
    return get_task(task).build_model(bb, num_classes, cfg.model)


def fit(
    data: str | Path | None = None,
    out: str | Path | None = None,
    config: RunConfig | str | Path | None = None,
    resume: bool = False,
    **settings: Any,
) -> RunResult:
    """Train a run; ``settings`` are config fields by name (backbone, strategy, epochs, lr…).

    A new run never writes into a folder that already holds one: ``resume=True`` continues the
    run in ``out`` instead, to its own epochs, or with ``epochs=N`` above them extends a finished
    (or interrupted) run to ``N`` epochs, continuing its schedule. ``class_weights="auto"``
    weighs classification's training loss by inverse class frequency. Returns a
    ``runs.record.RunResult`` (run directory, final metrics, history, seconds).
    """
    if resume:
        if out is None:
            raise ConfigError("resume=True needs out= (the run directory to continue)")
        given = (("data", data), ("config", config), *settings.items())
        other = [k for k, v in given if v is not None and k not in ("epochs", "quiet")]
        if other:
            raise ConfigError(
                f"resume continues the run as it was set up; also given: {', '.join(other)}",
                hint="only --epochs (N above the run's, to extend it) and --quiet go with --resume",
            )
        cfg = resumed_config(out, settings.get("epochs")).with_values(quiet=settings.get("quiet"))
        return _run(cfg, Path(out), resume=True)
    if isinstance(config, (str, Path)):
        config = RunConfig.load(config)
    cfg = (config or RunConfig()).with_values(path=str(data) if data else None, **settings)
    if not cfg.data.path:
        raise ConfigError(
            "no data given", hint="pass --data PATH (a folder or annotation file; data= in the API)"
        )
    if not Path(cfg.data.path).exists():
        raise DatasetError(
            f"data path not found: {cfg.data.path}",
            hint="check the path given to --data (data= in the API)",
        )
    out = Path(out) if out else default_run_dir(cfg)
    refuse_existing(out)
    return _run(cfg, out)


def default_run_dir(cfg: RunConfig) -> Path:
    """``runs/<backbone>-<strategy>-<YYYYmmdd-HHMMSS>``, readable and unique per second."""
    name = cfg.model.backbone.replace(":", "_").replace("/", "_")
    strategy = cfg.transfer.strategy.replace(":", "")
    return Path("runs") / f"{name}-{strategy}-{time.strftime('%Y%m%d-%H%M%S')}"


def evaluate(
    run_dir: str | Path,
    data: str | Path | None = None,
    split: str | None = None,
    batch_size: int = 32,
    use_stored: bool = True,
) -> dict[str, Any]:
    """Metrics of a run's best checkpoint on ``split`` of its data (or of ``data``).

    The run's own split, unchanged since training, is answered from the predictions its final
    evaluation stored; ``use_stored=False`` runs the model on it again.
    """
    return evaluate_run(run_dir, data, split, batch_size, use_stored)


def evaluate_predictions(task: str, data: str | Path, predictions: str | Path) -> dict[str, Any]:
    """Score a predictions file made by any tool against the ground truth in ``data``."""
    hook = _hook(task, "evaluate_predictions", "--predictions")
    return hook(Path(data), Path(predictions), {})


def predict(
    run_dir: str | Path, paths: list[str | Path], out: str | Path | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Predictions of a run for image files or folders; ``out`` writes them (JSON / CSV / …)."""
    if str(run_dir).endswith(".onnx"):
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
    """The freeze plan of ``strategy`` on ``backbone`` for ``task``, without training.

    ``init`` (auto | probe | random) is how the head starts; the plan says which and why.
    """
    cfg = RunConfig(task=task).with_values(
        backbone=backbone, strategy=strategy, epochs=epochs, **settings
    )
    t = cfg.transfer
    init, reason = resolve_init(cfg)
    parsed = parse_strategy(
        strategy,
        unfreeze_every=t.unfreeze_every,
        lr_decay=t.lr_decay,
        bn=resolved_bn(cfg),
        head_ready=init == "probe",
    )
    model = get_task(task).build_model(
        zoo.create_backbone(backbone, weights="none"), num_classes, cfg.model
    )
    return build_plan(model, parsed, epochs, describe_init(init, reason))


def curve(
    data: str | Path,
    backbone: str = "efficientnet_lite0",
    fractions: str | Sequence[float] = DEFAULT_FRACTIONS,
    out: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    **settings: Any,
) -> CurveResult:
    """Probe accuracy on val at ``fractions`` of the training labels, and "would more labels help?".

    ``settings`` are config fields by name (weights, img_size, val_fraction, test_fraction,
    split_seed, seed, batch_size, num_workers, format, on_bad_image, quiet); with ``out``,
    ``curve.json`` and ``curve.png`` are written there. The test split is never read.
    """
    chosen = parse_fractions(fractions)
    cfg = RunConfig().with_values(path=str(data), backbone=backbone, **settings)
    if not Path(data).exists():
        raise DatasetError(f"data path not found: {data}", hint="check the path given to --data")
    return run_curve(cfg, chosen, out=out, cache_dir=cache_dir)


def demo(task: str = "classify", out: str | Path = "transferkit-demo", quiet: bool = False):
    """Train ``task``'s built-in demo under ``out`` (pretrained vs random init); rows per run."""
    return run_demo(_hook(task, "demo", "demo"), Path(out), quiet=quiet)


def feature_cache(cache_dir: str | Path | None = None) -> FeatureCache:
    """The feature cache (``entries()``, ``clear()``) in ``cache_dir`` or the default folder."""
    return FeatureCache(cache_dir)


def weights_dir() -> Path:
    """The folder of the local weight store."""
    return weight_store.store_dir()


def add_weights(name: str, file: str | Path, licence: str, pretraining_data: str):
    """Import a state dict file into the local weight store as ``name``; returns its entry."""
    return weight_store.add(name, file, licence, pretraining_data)


def list_weights() -> list:
    """The entries of the local weight store."""
    return weight_store.list_entries()


def _hook(task_name: str, name: str, what: str):
    hook = getattr(get_task(task_name), name, None)
    if hook is None:
        raise ConfigError(f"{what} is not available for task {task_name!r} in this version")
    return hook


__all__ = [
    "MAX_ROWS",
    "RunResult",
    "add_weights",
    "check_dataset",
    "coco_to_masks",
    "compare",
    "convert_dataset",
    "create_model",
    "curve",
    "default_run_dir",
    "demo",
    "evaluate",
    "evaluate_predictions",
    "export",
    "feature_cache",
    "fit",
    "format_report",
    "list_backbones",
    "list_weights",
    "load_dataset",
    "masks_to_coco",
    "parse_strategies",
    "plan",
    "predict",
    "rank",
    "sidecar_path",
    "weights_dir",
    "write_report",
]

"""The API of runs: train (:func:`fit`), evaluate, predict, plan and the built-in demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from transferkit import zoo
from transferkit.core.config import RunConfig, check_option, resolved_bn
from transferkit.core.errors import ConfigError, DatasetError
from transferkit.engine.demo import run_demo
from transferkit.engine.evaluate_run import evaluate_run
from transferkit.engine.onnx_eval import evaluate_onnx
from transferkit.engine.run import run as _run
from transferkit.export.onnx_predict import predict_onnx
from transferkit.runs.carry import carry_config
from transferkit.runs.record import RunResult, resumed_config
from transferkit.runs.rundir import load_run
from transferkit.tasks import get_task
from transferkit.transfer.lpft import describe_init, resolve_init
from transferkit.transfer.plan import FreezePlan, build_plan
from transferkit.transfer.strategy import parse_strategy


def fit(
    data: str | Path | None = None,
    out: str | Path | None = None,
    config: RunConfig | str | Path | None = None,
    resume: bool = False,
    **settings: Any,
) -> RunResult:
    """Train a run; ``settings`` are config fields by name (backbone, strategy, epochs, lr…).

    A new run is written only into a new or empty folder (never into the user's files, nor
    into another run), by one process at a time: ``resume=True`` continues the
    run in ``out`` instead, to its own epochs, or with ``epochs=N`` above them extends a finished
    (or interrupted) run to ``N`` epochs, continuing its schedule. ``backbone="run:RUNDIR"`` starts
    from a finished run's backbone and preprocessing (any task); ``init_from=RUNDIR`` continues a
    classification run on new data (its backbone, and its head rows for classes by name).
    ``class_weights="auto"`` weighs classification's training loss by inverse class frequency.
    Returns a ``runs.record.RunResult`` (run directory, final metrics, history, seconds).
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
    if settings.get("init_from") and settings.get("backbone") is None:
        settings["backbone"] = f"run:{settings['init_from']}"  # the run's, unless named
    if isinstance(settings.get("unlabelled"), Path):
        settings["unlabelled"] = str(settings["unlabelled"])
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
    cfg = carry_config(cfg)  # backbone run:RUNDIR and init_from, read and checked
    out = Path(out) if out else default_run_dir(cfg)
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

    ``run_dir`` may also be an exported ``MODEL.onnx`` (classification, segmentation): scored in
    onnxruntime, on the run's data carved as the run carved it unless ``data`` is given.
    The run's own split, unchanged since training, is answered from the predictions its final
    evaluation stored; ``use_stored=False`` runs the model on it again. ``ci``: 95 % intervals.
    """
    check_option("batch_size", batch_size)
    if str(run_dir).endswith(".onnx"):
        return evaluate_onnx(run_dir, data=data, split=split, batch_size=batch_size)
    return evaluate_run(run_dir, data, split, batch_size, use_stored)


def evaluate_predictions(task: str, data: str | Path, predictions: str | Path) -> dict[str, Any]:
    """Score a predictions file made by any tool against the ground truth in ``data``."""
    hook = _hook(task, "evaluate_predictions", "--predictions")
    return hook(Path(data), Path(predictions), {})


def predict(
    run_dir: str | Path, paths: list[str | Path], out: str | Path | None = None, **options: Any
) -> list[dict[str, Any]]:
    """Predictions of a run for image files or folders; ``out`` writes them (JSON / CSV / …)."""
    for name in sorted(set(options) & {"top_k", "score_threshold", "batch_size"}):
        check_option(name, options[name])
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
    check_option("num_classes", num_classes)
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


def demo(task: str = "classify", out: str | Path = "transferkit-demo", quiet: bool = False):
    """Train ``task``'s built-in demo under ``out`` (pretrained vs random init); rows per run."""
    return run_demo(_hook(task, "demo", "demo"), Path(out), quiet=quiet)


def _hook(task_name: str, name: str, what: str):
    hook = getattr(get_task(task_name), name, None)
    if hook is None:
        raise ConfigError(f"{what} is not available for task {task_name!r} in this version")
    return hook

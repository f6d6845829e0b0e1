"""The HTML run report: one self-contained ``report.html`` per run directory.

:func:`write_report` reads the run directory (config, plan, data summary, history, metrics),
draws the plots, adds the task's example section (confidently wrong images for classification,
predictions beside ground truth for detection and segmentation) and writes the page atomically.

Task sections come from the task object's hook ``report_sections(run, splits) -> list[Section]``
(each task folder's ``report`` module); a task without one gets a note. ``run`` is a loaded
``engine.rundir.RunHandle``; ``splits`` the task's ``DataSplits``, or ``None`` when the data set
cannot be read any more (moved, deleted): the sections that need only the run's files still
render, with a note where the images would be.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from transferkit.core.fileio import atomic_write_text
from transferkit.render.html import Section, note, render_page
from transferkit.report import sections as common
from transferkit.runs.readback import read_json_file
from transferkit.runs.rundir import RunDir, load_run
from transferkit.tasks import get_task

REPORT_FILE = "report.html"


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    splits=None,
    warn: Callable[[str], None] | None = None,
    handle=None,
) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``RUNDIR/report.html``).

    ``splits`` (the loaded data) saves reading the data set again when the caller has it, as at
    the end of training. Parts that cannot be drawn become a note in the page and a call of
    ``warn`` with the reason; the rest of the report is still written. ``handle`` (a
    ``runs.rundir.RunHandle`` with the model in memory, as at the end of training) saves
    rebuilding the model from the run's checkpoint.
    """
    run = RunDir(run_dir)
    run.require_run()
    page = build_report(run, splits, warn or (lambda message: None), handle)
    target = Path(out) if out else run.path / REPORT_FILE
    return atomic_write_text(target, page)


def write_report_safely(
    run_dir: str | Path, splits=None, warn: Callable[[str], None] = print, handle=None
):
    """:func:`write_report` for the end of training: a failure is a warning, never an error.

    The trained run matters more than its report; ``transferkit report RUNDIR`` can draw it
    again later. Returns the report's path, or ``None`` when it could not be written.
    """
    try:
        return write_report(
            run_dir, splits=splits, warn=lambda m: warn(f"warning: report: {m}"), handle=handle
        )
    except Exception as e:  # any failure of plotting or reading must not lose the run
        warn(
            f"warning: {REPORT_FILE} could not be written for {run_dir}: "
            f"{type(e).__name__}: {e}; run `transferkit report {run_dir}` to retry"
        )
        return None


def build_report(run, splits, warn: Callable[[str], None], handle=None) -> str:
    """The report page of a ``RunDir`` as HTML text."""
    cfg = run.read_config()
    task = get_task(cfg.task)
    class_names, _ = run.read_classes()
    metrics = _optional_json(run.metrics)
    history = run.read_history()
    parts = [
        _guard("Overview", warn, common.overview, cfg, metrics or {}, history, task.monitor),
        _guard(
            "Configuration and freeze plan",
            warn,
            common.config_and_plan,
            run.config.read_text(encoding="utf-8"),
            _optional_json(run.plan),
        ),
        _guard("Data", warn, common.data_summary, _optional_json(run.data_summary)),
        _guard("Learning curves", warn, common.learning_curves, history, task.monitor),
        _guard("Final metrics", warn, common.final_metrics, metrics, class_names),
    ]
    parts += task_sections(run, cfg, task, splits, warn, handle)
    title = f"transferkit run report: {run.path.name}"
    subtitle = f"{cfg.task} - {cfg.model.backbone} - strategy {cfg.transfer.strategy}"
    return render_page(title, subtitle, parts)


def task_sections(
    run, cfg, task, splits, warn: Callable[[str], None], handle=None
) -> list[Section]:
    """The task's example sections (its ``report_sections`` hook), each failure a note."""
    hook = getattr(task, "report_sections", None)
    title = "Examples"
    if hook is None:
        return [Section(title, note(f"no example section for task {cfg.task!r} in this version"))]
    try:
        handle = handle or load_run(run.path)
    except Exception as e:
        warn(f"the model could not be loaded ({e}); example images are left out")
        return [Section(title, note(f"the model could not be loaded: {e}"))]
    if splits is None:
        try:
            splits = task.load_data(handle.config, handle.data_config)
        except Exception as e:
            warn(f"the data set could not be read ({e}); example images are left out")
            return [Section(title, note(f"the data set {cfg.data.path} could not be read: {e}"))]
    try:
        return list(hook(handle, splits))
    except Exception as e:
        warn(f"example images could not be drawn: {type(e).__name__}: {e}")
        return [Section(title, note(f"example images could not be drawn: {type(e).__name__}: {e}"))]


def _guard(title: str, warn: Callable[[str], None], build, *args) -> Section:
    try:
        return build(*args)
    except Exception as e:  # one broken file must not cost the whole report
        warn(f"section '{title}' could not be drawn: {type(e).__name__}: {e}")
        return Section(title, note(f"could not be drawn: {type(e).__name__}: {e}"))


def _optional_json(path: Path):
    return read_json_file(path) if path.is_file() else None


__all__ = ["REPORT_FILE", "Section", "write_report", "write_report_safely"]

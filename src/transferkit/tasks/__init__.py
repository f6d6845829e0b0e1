"""Task registry: each name of ``core.config.TASKS`` maps to the ``TASK`` object of its folder.

A task is one folder, ``tasks/<name>/``, whose ``__init__.py`` defines ``TASK`` (an object that
satisfies ``tasks.base.Task``), plus its name in ``core.config.TASKS``. Entries are imported on
first use, so that classification never imports detection code.
"""

from __future__ import annotations

from transferkit.core.config import TASKS as TASK_NAMES
from transferkit.core.config import RunConfig
from transferkit.core.registry import Registry

TASKS: Registry = Registry("task")
for _name in TASK_NAMES:
    TASKS.register(_name, f"transferkit.tasks.{_name}:TASK")


def get_task(name: str, cfg: RunConfig | None = None):
    """The task object for ``name`` (classify, detect, segment, instance).

    Given a run's ``cfg``, the task object for that run (``for_run``: segmentation's ignore index
    and Dice weight); the registered object itself is never changed.
    """
    task = TASKS.get(name)
    return task.for_run(cfg) if cfg is not None else task

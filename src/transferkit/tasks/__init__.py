"""Task registry: a task name maps to the module object that satisfies ``tasks.base.Task``."""

from __future__ import annotations

import importlib

from transferkit.core.errors import ConfigError, did_you_mean

# name -> "module:attribute"; imported lazily so that classification never imports detection code.
TASK_OBJECTS = {
    "classify": "transferkit.tasks.classify.task:TASK",
    "detect": "transferkit.tasks.detect.task:TASK",
    "segment": "transferkit.tasks.segment.task:TASK",
    "instance": "transferkit.tasks.instance.task:TASK",
}


def get_task(name: str):
    """Return the task object for ``name`` (classify, detect, segment, instance)."""
    if name not in TASK_OBJECTS:
        raise ConfigError(
            f"unknown task {name!r}.{did_you_mean(name, TASK_OBJECTS)}",
            hint=f"valid tasks: {', '.join(TASK_OBJECTS)}",
        )
    module_name, attr = TASK_OBJECTS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise ConfigError(f"task {name!r} is not available in this version") from None
        raise
    return getattr(module, attr)

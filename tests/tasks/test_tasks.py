"""The task registry, what each task declares, stateless task objects and the demo specs."""

from __future__ import annotations

import pytest

from tests.tiny import TinyBackbone
from transferkit.core.config import TASKS as TASK_NAMES
from transferkit.core.config import ModelSettings, RunConfig
from transferkit.core.errors import ConfigError
from transferkit.tasks import TASKS, get_task
from transferkit.tasks.base import DemoSpec


def test_the_registry_lists_the_config_task_names_and_suggests_the_closest():
    assert TASKS.names() == list(TASK_NAMES)
    with pytest.raises(ConfigError, match="Did you mean 'detect'"):
        get_task("detec")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_declares_its_heads_default_head_and_demo(name):
    task = get_task(name)
    assert task.name == name
    assert task.default_head in task.heads or task.heads == ()
    assert isinstance(task.coco_weights, bool)
    assert isinstance(task.demo, DemoSpec) and task.demo.task == name
    assert all(callable(getattr(task, hook)) for hook in ("predict_paths", "write_predictions"))


def test_default_heads_are_explicit_per_task():
    assert ModelSettings().head is None  # "the task's default"
    assert (get_task("classify").default_head, get_task("segment").default_head) == ("linear", "fpn")
    assert get_task("detect").heads == get_task("instance").heads == ()


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        ("segment", "linear", "unknown segmentation head 'linear'"),
        ("classify", "fpn", "unknown classification head 'fpn'"),
        ("detect", "fpn", "unknown detection head 'fpn'"),
        ("instance", "linear", "unknown instance segmentation head 'linear'"),
    ],
)
def test_a_head_of_another_task_is_refused(name, head, message):
    with pytest.raises(ConfigError, match=message):
        get_task(name).build_model(TinyBackbone(), 3, ModelSettings(head=head, weights="none"))


@pytest.mark.parametrize("name", ["classify", "segment", "instance"])
def test_weights_coco_is_refused_where_the_task_has_none(name):
    assert not get_task(name).coco_weights
    with pytest.raises(ConfigError, match=f"no COCO-trained weights for task '{name}'"):
        get_task(name).build_model(TinyBackbone(), 3, ModelSettings(weights="coco"))


def test_detection_has_coco_weights():
    assert get_task("detect").coco_weights


def test_segment_task_object_is_not_changed_by_a_run():
    registered = get_task("segment")
    cfg = RunConfig(task="segment").with_values(ignore_index=7, dice_weight=0.5)
    run_task = get_task("segment", cfg)
    assert (run_task.ignore_index, run_task.dice_weight) == (7, 0.5)
    assert (registered.ignore_index, registered.dice_weight) == (255, 0.0)
    registered.build_model(TinyBackbone(), 3, ModelSettings(dice_weight=0.5))
    assert registered.dice_weight == 0.0 and get_task("segment") is registered
    assert run_task.predict_paths is registered.predict_paths  # the hooks come along


def test_a_negative_dice_weight_is_refused_for_the_run():
    with pytest.raises(ConfigError, match="dice_weight"):  # at the door, before any task
        RunConfig(task="segment").with_values(dice_weight=-1.0)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_demo_runs_name_their_data_sets(name):
    spec = get_task(name).demo
    for run in spec.runs:
        RunConfig(task=name).with_values(
            weights=run.weights, strategy=run.strategy, **spec.settings
        )
    keys = {run.data or "data" for run in spec.runs}
    for line in spec.about:  # every placeholder names a data set the spec prepares
        line.format(**{k: "PATH" for k in keys})

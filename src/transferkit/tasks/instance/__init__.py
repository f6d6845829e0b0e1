"""Instance segmentation, the ``instance`` task: the object the task registry finds.

``task`` holds the model, data, loss and metrics, ``predict`` the prediction hooks and ``demo`` the
built-in demo; they meet here, so ``task`` and ``predict`` never import each other.
"""

from __future__ import annotations

from transferkit.tasks.instance.demo import DEMO
from transferkit.tasks.instance.export import onnx_spec
from transferkit.tasks.instance.predict import (
    evaluate_predictions,
    predict_paths,
    predict_with,
    write_predictions,
)
from transferkit.tasks.instance.report import report_sections
from transferkit.tasks.instance.task import InstanceTask, prediction_rows


class Instance(InstanceTask):
    """:class:`InstanceTask` with the optional hooks of ``tasks.base``."""

    predict_paths = staticmethod(predict_paths)
    predict_with = staticmethod(predict_with)
    write_predictions = staticmethod(write_predictions)
    evaluate_predictions = staticmethod(evaluate_predictions)
    prediction_rows = staticmethod(prediction_rows)
    report_sections = staticmethod(report_sections)
    onnx_spec = staticmethod(onnx_spec)
    demo = DEMO


TASK = Instance()

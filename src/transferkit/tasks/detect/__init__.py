"""Object detection, the ``detect`` task: the object the task registry finds.

``task`` holds the model, data, loss and metrics, ``predict`` the prediction hooks and ``demo`` the
built-in demo; they meet here, so ``task`` and ``predict`` never import each other.
"""

from __future__ import annotations

from transferkit.tasks.detect.demo import DEMO
from transferkit.tasks.detect.export import onnx_spec
from transferkit.tasks.detect.predict import (
    evaluate_predictions,
    predict_paths,
    predict_with,
    write_predictions,
)
from transferkit.tasks.detect.report import report_sections
from transferkit.tasks.detect.task import DetectTask, prediction_rows


class Detect(DetectTask):
    """:class:`DetectTask` with the optional hooks of ``tasks.base``."""

    predict_paths = staticmethod(predict_paths)
    predict_with = staticmethod(predict_with)
    write_predictions = staticmethod(write_predictions)
    evaluate_predictions = staticmethod(evaluate_predictions)
    prediction_rows = staticmethod(prediction_rows)
    report_sections = staticmethod(report_sections)
    onnx_spec = staticmethod(onnx_spec)
    demo = DEMO


TASK = Detect()

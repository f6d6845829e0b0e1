"""Image classification, the ``classify`` task: the object the task registry finds.

``task`` holds the model, data, loss and metrics, ``predict`` the prediction hooks and ``demo`` the
built-in demo; they meet here, so ``task`` and ``predict`` never import each other.
"""

from __future__ import annotations

from transferkit.tasks.classify.demo import DEMO
from transferkit.tasks.classify.export import onnx_spec
from transferkit.tasks.classify.predict import (
    predict_paths,
    predict_with,
    prediction_rows,
    write_predictions,
)
from transferkit.tasks.classify.report import report_sections
from transferkit.tasks.classify.task import ClassifyTask


class Classify(ClassifyTask):
    """:class:`ClassifyTask` with the optional hooks of ``tasks.base``."""

    predict_paths = staticmethod(predict_paths)
    predict_with = staticmethod(predict_with)
    write_predictions = staticmethod(write_predictions)
    prediction_rows = staticmethod(prediction_rows)
    report_sections = staticmethod(report_sections)
    onnx_spec = staticmethod(onnx_spec)
    demo = DEMO


TASK = Classify()

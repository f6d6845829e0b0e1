"""Multi-label classification, the ``multilabel`` task: the object the task registry finds.

``task`` holds the model, data, loss and metrics (``metrics``: the thresholds chosen on val),
``predict`` the prediction hooks, ``evaluate`` the scoring of other tools' predictions and
``demo`` the built-in demo; they meet here.
"""

from __future__ import annotations

from transferkit.tasks.multilabel.demo import DEMO
from transferkit.tasks.multilabel.evaluate import evaluate_predictions
from transferkit.tasks.multilabel.export import onnx_spec
from transferkit.tasks.multilabel.predict import predict_paths, predict_with, write_predictions
from transferkit.tasks.multilabel.report import report_sections
from transferkit.tasks.multilabel.task import MultiLabelTask


class MultiLabel(MultiLabelTask):
    """:class:`MultiLabelTask` with the optional hooks of ``tasks.base``."""

    predict_paths = staticmethod(predict_paths)
    predict_with = staticmethod(predict_with)
    write_predictions = staticmethod(write_predictions)
    evaluate_predictions = staticmethod(evaluate_predictions)
    report_sections = staticmethod(report_sections)
    onnx_spec = staticmethod(onnx_spec)
    demo = DEMO


TASK = MultiLabel()

"""Semantic segmentation, the ``segment`` task: the object the task registry finds.

``task`` holds the model, data, loss and metrics, ``predict`` the prediction hooks and ``demo`` the
built-in demo; they meet here, so ``task`` and ``predict`` never import each other.
"""

from __future__ import annotations

from transferkit.tasks.segment.demo import DEMO
from transferkit.tasks.segment.export import onnx_spec
from transferkit.tasks.segment.predict import (
    evaluate_predictions,
    predict_paths,
    predict_with,
    write_predictions,
)
from transferkit.tasks.segment.report import report_sections
from transferkit.tasks.segment.task import SegmentTask


class Segment(SegmentTask):
    """:class:`SegmentTask` with the optional hooks of ``tasks.base``."""

    predict_paths = staticmethod(predict_paths)
    predict_with = staticmethod(predict_with)
    write_predictions = staticmethod(write_predictions)
    evaluate_predictions = staticmethod(evaluate_predictions)
    report_sections = staticmethod(report_sections)
    onnx_spec = staticmethod(onnx_spec)
    demo = DEMO


TASK = Segment()

"""transferkit: transfer learning for image classification, detection and segmentation.

Public API: :func:`load_dataset`, :func:`create_model`, :func:`fit`, :func:`evaluate`,
:func:`predict`, :func:`plan`, :func:`rank`, :func:`export`.
"""

from transferkit.api import create_model, evaluate, fit, load_dataset, plan, predict

__version__ = "0.1.0"


def rank(*args, **kwargs):
    """Rank candidate backbones on a data set by a transferability score (see ``transfer.rank``)."""
    from transferkit.transfer.rank import rank as _rank

    return _rank(*args, **kwargs)


def export(*args, **kwargs):
    """Export a run to ONNX, checked against onnxruntime (see ``transferkit.export``)."""
    from transferkit.export import export as _export

    return _export(*args, **kwargs)


__all__ = ["load_dataset", "create_model", "fit", "evaluate", "predict", "plan", "rank", "export"]

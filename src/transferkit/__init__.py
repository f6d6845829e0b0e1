"""transferkit: transfer learning for image classification, detection and segmentation.

Public API: :func:`load_dataset`, :func:`create_model`, :func:`fit`, :func:`evaluate`,
:func:`predict`, :func:`plan`, :func:`rank`, :func:`export` (all from :mod:`transferkit.api`).
"""

from transferkit.api import create_model, evaluate, export, fit, load_dataset, plan, predict, rank

__version__ = "0.1.0"

__all__ = ["load_dataset", "create_model", "fit", "evaluate", "predict", "plan", "rank", "export"]

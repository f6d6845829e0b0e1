"""transferkit: transfer learning for image classification, detection and segmentation.

Public API: :func:`load_dataset`, :func:`create_model`, :func:`fit`, :func:`evaluate`,
:func:`predict`, :func:`plan`, :func:`rank`, :func:`export` (all from :mod:`transferkit.api`,
imported on first use so that ``import transferkit`` and light commands stay fast).
"""

from transferkit.core.lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["load_dataset", "create_model", "fit", "evaluate", "predict", "plan", "rank", "export"]
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(__all__, "transferkit.api"))

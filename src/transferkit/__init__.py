"""transferkit: transfer learning for image classification, detection and segmentation.

Public API: :func:`load_dataset`, :func:`create_model`, :func:`fit`, :func:`evaluate`,
:func:`predict`, :func:`plan`, :func:`rank`, :func:`export` (all from :mod:`transferkit.api`).

They are looked up on first use (PEP 562), so importing a part of the package (the command line
above all, whose ``--help`` needs no PyTorch) does not import the whole API and PyTorch with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transferkit.api import (
        create_model,
        evaluate,
        export,
        fit,
        load_dataset,
        plan,
        predict,
        rank,
    )

__version__ = "0.1.0"

__all__ = ["load_dataset", "create_model", "fit", "evaluate", "predict", "plan", "rank", "export"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("transferkit.api"), name)
    raise AttributeError(f"module 'transferkit' has no attribute {name!r}")

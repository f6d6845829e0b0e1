"""The Python API; the CLI is a thin layer over these functions.

The whole transfer recipe in a few lines::

    import transferkit as tk
    result = tk.fit("my_images/", backbone="efficientnet_lite0", strategy="gradual", epochs=8)
    print(tk.evaluate(result.run_dir)["accuracy"])
    print(tk.predict(result.run_dir, ["photo.jpg"], top_k=3))

Besides training and using runs (:mod:`.runs`): ranking backbones (:func:`rank`), comparing
strategies (:func:`compare`), export (:func:`export`), reports (:func:`write_report`), data checks
and conversions, the zoo and the weight store (:mod:`.library`). The command line calls only these.
"""

from __future__ import annotations

from transferkit.api.deploy import DEFAULT_TOLERANCE, export
from transferkit.api.library import (
    add_weights,
    create_model,
    curve,
    feature_cache,
    list_weights,
    load_dataset,
    weights_dir,
)
from transferkit.api.runs import (
    default_run_dir,
    demo,
    evaluate,
    evaluate_predictions,
    fit,
    plan,
    predict,
)
from transferkit.data.check.dataset import check_dataset, format_report
from transferkit.data.convert import convert_dataset
from transferkit.data.mask_convert import coco_to_masks, masks_to_coco
from transferkit.engine.compare import compare, parse_strategies
from transferkit.export.onnx_export import sidecar_path
from transferkit.report import write_report
from transferkit.runs.record import RunResult
from transferkit.transfer.rank import rank
from transferkit.zoo import list_backbones
from transferkit.zoo.listing import MAX_ROWS

__all__ = [
    "DEFAULT_TOLERANCE",
    "MAX_ROWS",
    "RunResult",
    "add_weights",
    "check_dataset",
    "coco_to_masks",
    "compare",
    "convert_dataset",
    "create_model",
    "curve",
    "default_run_dir",
    "demo",
    "evaluate",
    "evaluate_predictions",
    "export",
    "feature_cache",
    "fit",
    "format_report",
    "list_backbones",
    "list_weights",
    "load_dataset",
    "masks_to_coco",
    "parse_strategies",
    "plan",
    "predict",
    "rank",
    "sidecar_path",
    "weights_dir",
    "write_report",
]

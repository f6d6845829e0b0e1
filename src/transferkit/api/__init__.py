"""The Python API; the CLI is a thin layer over these functions.

The whole transfer recipe in a few lines::

    import transferkit as tk
    result = tk.fit("my_images/", backbone="efficientnet_lite0", strategy="gradual", epochs=8)
    print(tk.evaluate(result.run_dir)["accuracy"])
    print(tk.predict(result.run_dir, ["photo.jpg"], top_k=3))

Besides training and using runs (:mod:`.runs`): ranking backbones (:func:`rank`), comparing
strategies (:func:`compare`), k-fold (:func:`cross_validate`), export (:func:`export`), reports (:func:`write_report`), data checks
and conversions, the zoo and the weight store (:mod:`.library`). The command line calls only these.

Each name is imported on first use (``core.lazy``): ``zoo list`` loads the short-name table alone.
"""

from __future__ import annotations

from transferkit.core.lazy import lazy_exports

_WHERE = {
    "DEFAULT_TOLERANCE": "transferkit.api.deploy",
    "export": "transferkit.api.deploy",
    "add_weights": "transferkit.api.library",
    "create_model": "transferkit.api.library",
    "curve": "transferkit.api.library",
    "feature_cache": "transferkit.api.library",
    "list_weights": "transferkit.api.library",
    "load_dataset": "transferkit.api.library",
    "weights_dir": "transferkit.api.library",
    "default_run_dir": "transferkit.api.runs",
    "demo": "transferkit.api.runs",
    "evaluate": "transferkit.api.runs",
    "evaluate_predictions": "transferkit.api.runs",
    "fit": "transferkit.api.runs",
    "plan": "transferkit.api.runs",
    "predict": "transferkit.api.runs",
    "check_dataset": "transferkit.data.check.dataset",
    "format_report": "transferkit.data.check.dataset",
    "convert_dataset": "transferkit.data.convert",
    "coco_to_masks": "transferkit.data.mask_convert",
    "masks_to_coco": "transferkit.data.mask_convert",
    "compare": "transferkit.engine.compare",
    "parse_strategies": "transferkit.engine.compare",
    "cross_validate": "transferkit.engine.kfold",
    "sidecar_path": "transferkit.export.onnx_export",
    "write_report": "transferkit.report",
    "RunResult": "transferkit.runs.record",
    "rank": "transferkit.transfer.rank",
    "list_backbones": "transferkit.zoo.listing",
    "MAX_ROWS": "transferkit.zoo.listing",
    "alias_rows": "transferkit.zoo.shortlist",
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)

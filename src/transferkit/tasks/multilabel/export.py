"""ONNX export of a multi-label classifier: images -> logits, and a sidecar that spells out the
preprocessing and the decision (sigmoid, then one threshold per label, chosen on val)."""

from __future__ import annotations

import torch

from transferkit.data.transforms.classify import resolve_size
from transferkit.tasks.common.onnx import OnnxSpec, Tolerance, image_input
from transferkit.tasks.common.pooled import pooled_preprocessing


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) normalised as in training -> logits (N, labels)."""
    h, w = resolve_size(run.data_config, run.config.data.img_size)
    gen = torch.Generator().manual_seed(0)
    example = (torch.randn(2 if dynamic_batch else 1, 3, h, w, generator=gen),)
    checks = [example]
    if dynamic_batch:
        checks.append((torch.randn(3, 3, h, w, generator=gen),))
    batch = "batch" if dynamic_batch else 1
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else {}
    thresholds = [float(t) for t in run.model.net.thresholds]
    return OnnxSpec(
        module=run.model,
        example=example,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes=axes,
        checks=checks,
        tolerances={"logits": Tolerance(atol=1e-4, rtol=1e-3)},
        description={
            "inputs": [image_input("input", [batch, 3, h, w])],
            "outputs": [
                {
                    "name": "logits",
                    "shape": [batch, len(run.class_names)],
                    "dtype": "float32",
                    "meaning": "one unnormalised score per label, in class_names order; "
                    "sigmoid gives each label's probability on its own (multi-label)",
                }
            ],
            "decision": {
                "rule": "label i is predicted when sigmoid(logits[i]) >= thresholds[i]",
                "thresholds": thresholds,
                "chosen_on": "the validation split, per label, to maximise F1",
            },
            "preprocessing": pooled_preprocessing(run.data_config, (h, w)),
        },
    )

"""ONNX export of a multi-label classifier: images -> logits, and a sidecar that spells out the
preprocessing and the decision (sigmoid, then one threshold per label, chosen on val)."""

from __future__ import annotations

from transferkit.tasks.common.onnx import OnnxSpec
from transferkit.tasks.common.pooled import pooled_onnx_spec


def onnx_spec(run, dynamic_batch: bool) -> OnnxSpec:
    """Images (N, 3, H, W) normalised as in training -> logits (N, labels), with the decision."""
    meaning = (
        "one unnormalised score per label, in class_names order; sigmoid gives each label's "
        "probability on its own (multi-label)"
    )
    decision = {
        "rule": "label i is predicted when sigmoid(logits[i]) >= thresholds[i]",
        "thresholds": [float(t) for t in run.model.net.thresholds],
        "chosen_on": "the validation split, per label, to maximise F1",
    }
    return pooled_onnx_spec(run, dynamic_batch, meaning, decision=decision)

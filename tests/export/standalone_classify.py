"""Classify images with an exported model using only numpy, Pillow and onnxruntime.

Usage: python standalone_classify.py MODEL.onnx IMAGE... ; prints JSON, one entry per image. It
follows the sidecar's ``preprocessing`` and never imports transferkit, which is what a user of the
exported file has: the test checks its answers against ``transferkit predict``.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image


def preprocess(path: str, pre: dict) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    resample = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}[
        pre["resize"]["interpolation"].split()[0]
    ]
    w, h = im.size
    if "shorter_side" in pre["resize"]:
        short = pre["resize"]["shorter_side"]
        size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    else:
        rh, rw = pre["resize"]["size"]
        size = (rw, rh)
    im = im.resize(size, resample)
    ch, cw = pre["center_crop"]
    top, left = int(round((im.height - ch) / 2.0)), int(round((im.width - cw) / 2.0))
    im = im.crop((left, top, left + cw, top + ch))
    x = np.asarray(im, dtype=np.float32) * np.float32(pre["scale"])
    x = (x - np.array(pre["mean"], np.float32)) / np.array(pre["std"], np.float32)
    return x.transpose(2, 0, 1)[None]


def main(model: str, images: list[str]) -> list[dict]:
    with open(model + ".json", encoding="utf-8") as f:
        meta = json.load(f)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    out = []
    for path in images:
        logits = session.run(None, {"input": preprocess(path, meta["preprocessing"])})[0][0]
        e = np.exp(logits - logits.max())
        probs = e / e.sum()
        k = int(probs.argmax())
        out.append({"path": path, "label": meta["class_names"][k], "score": float(probs[k])})
    assert "transferkit" not in sys.modules and math.isfinite(out[0]["score"])
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))

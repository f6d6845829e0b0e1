"""What a feature-cache entry's key is made of: the weights' identity and the data's fingerprint.

A key changes whenever the features could: other weights (the file's sha256, or a digest of the
tensors for random init) or other files (path, size and modification time of each image).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from transferkit.core.errors import DatasetError
from transferkit.zoo.backbone import Backbone


def weights_digest(backbone: Backbone) -> str:
    """The identity of the backbone's weights: the file's sha256, or a digest of the tensors."""
    info = getattr(backbone, "weights_info", None)
    adapted = getattr(backbone, "adaptation", None)  # AdaBN: same file, other BN statistics
    if isinstance(info, dict) and info.get("sha256"):
        return f"sha256:{info['sha256']}" + (f"+adabn:{adapted}" if adapted else "")
    # Random init (or weights of unknown origin): the features depend on the values themselves.
    h = hashlib.sha256()
    for name, t in sorted(backbone.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return f"tensors:{h.hexdigest()}"


def file_fingerprint(paths: Sequence[str | Path]) -> list[str]:
    """One ``path|size|mtime_ns`` line per distinct file, sorted by path."""
    lines = []
    for p in sorted({str(Path(p).resolve()) for p in paths}):
        try:
            st = os.stat(p)
        except OSError as e:
            raise DatasetError(
                f"cannot read image file {p}: {e.strerror}",
                hint="the data set changed while it was read; run again",
            ) from None
        lines.append(f"{p}|{st.st_size}|{st.st_mtime_ns}")
    return lines


def digest(lines: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()

"""Where source libraries keep weights they downloaded before: looked at, never fetched from.

torchvision and timm's URL weights live in torch hub's checkpoint folder under the URL's file
name; timm's Hugging Face weights live in the Hugging Face hub cache. A file found here is loaded
by the library that wrote it (it knows the file's quirks: old key names, checkpoint filters).
Each source says which candidates apply to a name (``BackboneSource.cache_refs``); this
module only knows the two cache layouts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from transferkit.core import env


@dataclass(frozen=True)
class CacheCandidate:
    """A place a framework cache would hold the weights."""

    label: str  # "torch hub cache" or "hf cache"
    path: Path  # the file, or for the HF cache the repository folder looked in
    found: Path | None  # the file when it is there


def hub_checkpoints_dir() -> Path:
    """torch hub's checkpoint folder: ``torch.hub.get_dir()`` once torch is loaded (it also
    honours ``torch.hub.set_dir``), else torch's rule read from the environment
    (``core.env.torch_home() / "hub"``), so that ``zoo list`` does not import torch to look."""
    if "torch" not in sys.modules:
        return env.torch_home() / "hub" / "checkpoints"
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def url_candidate(url: str) -> CacheCandidate:
    """The torch hub cache file a download of ``url`` would have written."""
    path = hub_checkpoints_dir() / os.path.basename(urlparse(url).path)
    return CacheCandidate("torch hub cache", path, path if path.is_file() else None)


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (the library reads it once)."""
    from huggingface_hub import constants

    return env.hf_hub_cache() or Path(constants.HF_HUB_CACHE)


def hf_candidate(repo_id: str, filename: str | None) -> CacheCandidate:
    """The Hugging Face hub cache file of ``repo_id`` (its usual weight file names when None)."""
    from huggingface_hub import try_to_load_from_cache

    cache = hf_cache_dir()
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    for name in [filename] if filename else ["model.safetensors", "pytorch_model.bin"]:
        hit = try_to_load_from_cache(repo_id, name, cache_dir=cache)
        if isinstance(hit, str) and Path(hit).is_file():
            return CacheCandidate("hf cache", Path(hit), Path(hit))
    return CacheCandidate("hf cache", folder, None)


@dataclass(frozen=True)
class CacheRef:
    """Where a library would have cached a download: a URL (torch hub's checkpoint folder) or a
    Hugging Face repository (``filename`` None: its usual weight file names). Plain values, so a
    table can hold them (``zoo.shortlist``)."""

    kind: str  # "url" or "hf"
    ref: str  # the URL, or the repository id
    filename: str | None = None

    def candidate(self) -> CacheCandidate:
        """Look in the cache now."""
        if self.kind == "hf":
            return hf_candidate(self.ref, self.filename)
        return url_candidate(self.ref)

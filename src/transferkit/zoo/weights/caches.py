"""Where timm and torchvision keep weights they downloaded before: looked at, never fetched from.

torchvision and timm's URL weights live in torch hub's checkpoint folder under the URL's file
name; timm's Hugging Face weights live in the Hugging Face hub cache. A file found here is loaded
by the library that wrote it (it knows the file's quirks: old key names, checkpoint filters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from transferkit.core import env
from transferkit.zoo.names import BackboneName


@dataclass(frozen=True)
class CacheCandidate:
    """A place a framework cache would hold the weights."""

    label: str  # "torch hub cache" or "hf cache"
    path: Path  # the file, or for the HF cache the repository folder looked in
    found: Path | None  # the file when it is there


def hub_checkpoints_dir() -> Path:
    """torch hub's checkpoint folder (honours ``TORCH_HOME``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def _url_candidate(url: str) -> CacheCandidate:
    path = hub_checkpoints_dir() / os.path.basename(urlparse(url).path)
    return CacheCandidate("torch hub cache", path, path if path.is_file() else None)


def tv_weights_enum(arch: str):
    """The default weights enum member of a torchvision model (None when it has none)."""
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(arch).DEFAULT
    except (ValueError, AttributeError):
        return None


def cache_candidates(bn: BackboneName) -> list[CacheCandidate]:
    """The framework-cache files that would hold ``bn``'s default pretrained weights."""
    if bn.source == "tv":
        enum = tv_weights_enum(bn.arch)
        return [_url_candidate(enum.url)] if enum is not None else []
    if not bn.tag:
        return []
    import timm.models

    cfg = timm.models.get_pretrained_cfg(bn.model_name)
    out = []
    if cfg.hf_hub_id:
        out.append(_hf_candidate(cfg.hf_hub_id, cfg.hf_hub_filename))
    if cfg.url:
        out.append(_url_candidate(cfg.url))
    return out


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (the library reads it once)."""
    from huggingface_hub import constants

    return env.hf_hub_cache() or Path(constants.HF_HUB_CACHE)


def _hf_candidate(repo_id: str, filename: str | None) -> CacheCandidate:
    from huggingface_hub import try_to_load_from_cache

    cache = hf_cache_dir()
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    for name in [filename] if filename else ["model.safetensors", "pytorch_model.bin"]:
        hit = try_to_load_from_cache(repo_id, name, cache_dir=cache)
        if isinstance(hit, str) and Path(hit).is_file():
            return CacheCandidate("hf cache", Path(hit), Path(hit))
    return CacheCandidate("hf cache", folder, None)


def has_remote_weights(bn: BackboneName) -> bool:
    """Whether the source library knows where to download pretrained weights for ``bn``."""
    return bool(cache_candidates(bn))


def download_tv(arch: str) -> Path:
    """Fetch a torchvision model's default weights into torch hub's cache (hash-checked)."""
    import torch.hub

    enum = tv_weights_enum(arch)
    path = _url_candidate(enum.url).path
    match = torch.hub.HASH_REGEX.search(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    # download_url_to_file writes a temporary file and renames it: no half-written cache entry.
    torch.hub.download_url_to_file(enum.url, str(path), match.group(1) if match else None)
    return path

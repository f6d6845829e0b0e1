"""``create_backbone``: a name and a weights choice in, an adapter with its weights out.

Everything library-specific is behind the name's source (``zoo.sources.SOURCES``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from transferkit.core.errors import WeightsMismatchError
from transferkit.core.fileio import sha256_file
from transferkit.zoo.backbone import Backbone, BackboneName
from transferkit.zoo.names import parse_backbone_name
from transferkit.zoo.sources import SOURCES, cache_candidates
from transferkit.zoo.weights.resolve import resolve_weights
from transferkit.zoo.weights.spec import ResolvedWeights, WeightsSpec


def create_backbone(
    name: str,
    weights: str | Path | ResolvedWeights = "auto",
    *,
    keep_source_head: bool = False,
    allow_download: bool | None = None,
) -> Backbone:
    """Build backbone ``name`` (alias, ``timm:NAME[.TAG]`` or ``tv:NAME``) with its weights.

    ``weights``: ``"auto"`` (pretrained, resolved offline first: local store, built-in package
    weights, framework caches, then a download only when ``allow_download`` or
    ``TRANSFERKIT_ALLOW_DOWNLOAD=1`` allows it), ``"none"`` (random init) or a state-dict file.
    Missing weights raise :class:`WeightsUnavailableError`; random init is never implicit.
    ``keep_source_head`` keeps the pretraining classifier for ``forward_source_head``.
    The result carries ``weights_info`` (a dict describing the weights, or None for random init).
    """
    bn = parse_backbone_name(name)
    source = SOURCES.get(bn.source)
    resolved = None
    if isinstance(weights, ResolvedWeights):
        resolved = weights
    elif not (isinstance(weights, str) and weights == "none"):
        keys = list(source.meta_model(bn).model.state_dict())
        resolved = resolve_weights(bn, weights, keys, allow_download, shown_name=str(name).strip())
    loaded = resolved.state_dict if resolved is not None else None
    has_head = True
    if keep_source_head and loaded is not None:
        head = source.meta_model(bn).head
        has_head = not head or any(k.startswith(head) for k in loaded)
    if not has_head:
        raise WeightsMismatchError(
            f"the weights for {bn.canonical} ({resolved.spec.file}) hold no pretraining "
            "classifier, which keep_source_head needs.",
            "use weights that include the classifier, or keep_source_head=False",
        )
    backbone = source.build(bn, resolved, keep_source_head)
    info = None
    if resolved is not None:
        spec = resolved.spec
        if resolved.download:  # the library wrote the file into its cache: record it
            spec = _after_download(bn, spec)
        info = spec.to_info()
        info["preprocessing"] = backbone.data_config.to_dict()
    backbone.weights_info = info
    return backbone


def _after_download(bn: BackboneName, spec: WeightsSpec) -> WeightsSpec:
    """The spec of weights the library just downloaded: the cache file it wrote, hashed."""
    for c in cache_candidates(bn):
        if c.found is not None:
            return replace(spec, file=c.found, sha256=sha256_file(c.found))
    return spec

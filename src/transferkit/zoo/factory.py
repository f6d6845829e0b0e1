"""``create_backbone`` and the per-source dispatch it needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from transferkit.core.errors import WeightsMismatchError
from transferkit.zoo.backbone import Backbone
from transferkit.zoo.names import BackboneName, parse_backbone_name
from transferkit.zoo.weights.caches import cache_candidates
from transferkit.zoo.weights.resolve import ResolvedWeights, resolve_weights


@dataclass
class Architecture:
    """A model built on the meta device, with the state-dict prefixes a checkpoint may omit."""

    model: nn.Module
    head: tuple[str, ...]  # the pretraining classifier
    optional: tuple[str, ...]  # head plus auxiliary heads
    unused: tuple[str, ...] = ()  # parts the backbone never runs (SqueezeNet's conv classifier)

    def backbone_parameters(self) -> int:
        """Scalars of the backbone as ``create_backbone`` builds it (no classifier, no aux)."""
        drop = self.optional + self.unused
        return sum(
            p.numel() for n, p in self.model.named_parameters() if not (drop and n.startswith(drop))
        )


def meta_model(bn: BackboneName) -> Architecture:
    """The full architecture of ``bn`` without memory or initialisation (for key checks, counts)."""
    if bn.source == "timm":
        from transferkit.zoo.sources.timm import meta_timm_model

        model, head = meta_timm_model(bn)
        return Architecture(model, head, head)
    from transferkit.zoo.sources.torchvision import meta_tv_model

    model, head, aux, unused = meta_tv_model(bn)
    return Architecture(model, head, head + aux, unused)


def create_backbone(
    name: str,
    weights: str | Path = "auto",
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
    resolved = None
    if not (isinstance(weights, str) and weights == "none"):
        arch = meta_model(bn)
        keys = list(arch.model.state_dict())
        resolved = resolve_weights(bn, weights, keys, allow_download, shown_name=str(name).strip())
    loaded = resolved.state_dict if resolved is not None else None
    if keep_source_head and loaded is not None and arch.head:
        has_head = any(k.startswith(arch.head) for k in loaded)
    else:
        has_head = True
    if not has_head:
        raise WeightsMismatchError(
            f"the weights for {bn.canonical} ({resolved.spec.file}) hold no pretraining "
            "classifier, which keep_source_head needs.",
            "use weights that include the classifier, or keep_source_head=False",
        )
    backbone = _build(bn, resolved, keep_source_head)
    info = None
    if resolved is not None:
        spec = resolved.spec
        if resolved.download:  # the library wrote the file into its cache: record it
            spec = _after_download(bn, spec)
        info = spec.to_info()
        info["preprocessing"] = backbone.data_config.to_dict()
    backbone.weights_info = info
    return backbone


def _build(bn: BackboneName, resolved: ResolvedWeights | None, keep_source_head: bool) -> Backbone:
    kwargs = {}
    if resolved is not None:
        kwargs = {
            "state_dict": resolved.state_dict,
            "framework_file": resolved.framework_file,
            "file_label": str(resolved.spec.file) if resolved.spec.file else None,
        }
    preprocessing = resolved.spec.preprocessing if resolved is not None else None
    if bn.source == "timm":
        from transferkit.zoo.sources.timm import TimmBackbone, build_timm_model, timm_data_config

        download = resolved is not None and resolved.download
        model = build_timm_model(bn, download=download, **kwargs)
        config = preprocessing or timm_data_config(model)
        return TimmBackbone(model, bn.canonical, config, keep_source_head)
    from transferkit.zoo.sources.torchvision import (
        TorchvisionBackbone,
        build_tv_model,
        tv_data_config,
    )

    model = build_tv_model(bn, **kwargs)
    config = preprocessing or tv_data_config(bn.arch)
    return TorchvisionBackbone(model, bn.canonical, config, keep_source_head)


def _after_download(bn: BackboneName, spec):
    from dataclasses import replace

    from transferkit.core.fileio import sha256_file

    for c in cache_candidates(bn):
        if c.found is not None:
            return replace(spec, file=c.found, sha256=sha256_file(c.found))
    return spec

"""Backbone sources: the libraries backbones come from, each behind one surface, found by prefix.

A source is a module here that defines ``SOURCE``, an object with the :class:`BackboneSource`
surface, registered below under the prefix users write (``timm:NAME``). Names, listing, weight
resolution, the weight store and ``create_backbone`` reach a library only through this registry,
so adding a source is one file plus one line. Entries are lazy: listing the prefixes imports no
library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from transferkit.core.registry import Registry
from transferkit.zoo.backbone import Backbone, BackboneName
from transferkit.zoo.weights.caches import CacheCandidate, CacheRef
from transferkit.zoo.weights.spec import Architecture, ResolvedWeights


class BackboneSource(Protocol):
    """What the zoo needs from a library of pretrained architectures."""

    prefix: str  # what names start with: "timm" in "timm:resnet50"
    library: str  # how messages name what it offers: "timm", "torchvision classification"

    def names(self) -> tuple[str, ...]:
        """Every architecture name the library offers (cached: the zoo asks often)."""

    def parse(self, rest: str, raw: str) -> BackboneName:
        """The name after ``prefix:`` as a :class:`BackboneName`; raises BackboneNotFoundError."""

    def meta_model(self, bn: BackboneName) -> Architecture:
        """The full architecture on the meta device (key checks, parameter counts)."""

    def build(
        self, bn: BackboneName, resolved: ResolvedWeights | None, keep_source_head: bool
    ) -> Backbone:
        """The adapter around the model, with the resolved weights loaded (None: random init)."""

    def cache_refs(self, bn: BackboneName) -> list[CacheRef]:
        """Where the library caches the default pretrained weights when it downloads them (may
        be [])."""

    def provenance(self, bn: BackboneName) -> tuple[str, str] | None:
        """(licence, pretraining data) of the published weights; None when there are none."""

    def download(self, bn: BackboneName) -> Path | None:
        """Fetch the weights now and return the file, or None when ``build`` fetches them."""


SOURCES: Registry[BackboneSource] = Registry("backbone source")
SOURCES.register("timm", "transferkit.zoo.sources.timm:SOURCE")
SOURCES.register("tv", "transferkit.zoo.sources.torchvision:SOURCE")


def cache_candidates(bn: BackboneName) -> list[CacheCandidate]:
    """Framework-cache files that would hold ``bn``'s default pretrained weights, looked at now."""
    return [ref.candidate() for ref in SOURCES.get(bn.source).cache_refs(bn)]

"""The backbone-source axis: every source honours one surface, and a new one is one registration."""

from __future__ import annotations

import inspect

import pytest
from torch import nn

from tests.tiny import TinyBackbone
from transferkit.core.errors import BackboneNotFoundError, ConfigError
from transferkit.zoo import create_backbone, list_backbones, resolve_backbone_name
from transferkit.zoo.backbone import BackboneName
from transferkit.zoo.sources import SOURCES, BackboneSource
from transferkit.zoo.weights.spec import Architecture

SURFACE = [n for n in dir(BackboneSource) if not n.startswith("_")] + ["prefix", "library"]


@pytest.mark.parametrize("prefix", SOURCES.names())
def test_every_source_has_the_whole_surface(prefix):
    source = SOURCES.get(prefix)
    assert source.prefix == prefix
    for name in SURFACE:
        assert hasattr(source, name), f"source {prefix!r} lacks {name}"
    for name, member in inspect.getmembers(BackboneSource, inspect.isfunction):
        if not name.startswith("_"):
            ours = inspect.signature(getattr(source, name))
            assert list(ours.parameters) == list(inspect.signature(member).parameters)[1:]


def test_a_duplicate_source_is_refused():
    with pytest.raises(ConfigError, match="registered twice"):
        SOURCES.register("timm", "somewhere:else")


class ToySource:
    """A third library of one architecture, with no published weights."""

    prefix = "toy"
    library = "toy"

    def names(self):
        return ("tiny",)

    def parse(self, rest, raw):
        if rest not in self.names():
            raise BackboneNotFoundError(f"toy has no model {rest!r} (in {raw!r}).")
        return BackboneName("toy", rest)

    def meta_model(self, bn):
        return Architecture(nn.Linear(3, 2), (), ())

    def build(self, bn, resolved, keep_source_head):
        return TinyBackbone()

    def cache_refs(self, bn):
        return []

    def provenance(self, bn):
        return None

    def download(self, bn):
        return None


@pytest.fixture
def toy(monkeypatch):
    """The registry with the toy source added (what its one register line does), for this test."""
    monkeypatch.setitem(SOURCES._entries, "toy", ToySource())


def test_a_registered_source_is_reached_by_names_listing_and_the_factory(toy):
    assert resolve_backbone_name("toy:tiny") == "toy:tiny"
    [row] = list_backbones("toy:*")
    assert (row.canonical, row.source, row.parameters, row.weights, row.licence) == (
        "toy:tiny",
        "toy",
        8,
        "no",
        "-",
    )
    assert isinstance(create_backbone("toy:tiny", weights="none"), TinyBackbone)
    with pytest.raises(BackboneNotFoundError, match="valid sources: timm, tv, toy") as e:
        resolve_backbone_name("toys:tiny")
    assert "any timm or torchvision classification or toy model" in e.value.hint
    with pytest.raises(BackboneNotFoundError, match="toy has no model 'big'"):
        resolve_backbone_name("toy:big")

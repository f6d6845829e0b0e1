"""``list_backbones``: the zoo as rows (name, source, parameters, local weights, licence).

Parameter counts come from the architecture built on the meta device (no memory, no weights),
counted as ``create_backbone`` returns it: without the pretraining classifier.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.names import BackboneName, parse_backbone_name, timm_names, tv_names
from transferkit.zoo.weights import store
from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS
from transferkit.zoo.weights.caches import cache_candidates

# A pattern that matches more than this many timm/torchvision names lists only the first ones.
MAX_ROWS = 60


@dataclass(frozen=True)
class BackboneRow:
    """One backbone of the zoo."""

    name: str  # as the user writes it (alias or full name)
    canonical: str
    source: str  # "timm" or "tv"
    parameters: int  # backbone scalars, pretraining classifier excluded
    weights: str  # where found offline: built-in, store, torch hub cache, hf cache, or "no"
    licence: str
    weights_local: bool  # whether create_backbone(name) finds pretrained weights offline


def list_backbones(pattern: str | None = None) -> list[BackboneRow]:
    """Rows for the alias table, or for every name matching ``pattern``.

    ``pattern`` is a shell-style glob, case-insensitive (a plain word matches as a substring);
    it is matched against the short names and against ``timm:NAME`` / ``tv:NAME``. At most
    :data:`MAX_ROWS` full names are listed.
    """
    names = list(ALIASES)
    if pattern:
        glob = pattern.lower() if any(c in pattern for c in "*?[") else f"*{pattern.lower()}*"
        alias_of = {full: alias for alias, full in ALIASES.items()}
        full = [f"timm:{n}" for n in timm_names()] + [f"tv:{n}" for n in tv_names()]
        hits = [n for n in full if fnmatch.fnmatchcase(n.lower(), glob)]
        hits += [n for n in full if fnmatch.fnmatchcase(n.partition(":")[2].lower(), glob)]
        short = [a for a in ALIASES if fnmatch.fnmatchcase(a, glob)]
        short += [alias_of[n] for n in hits if n in alias_of]
        others = [n for n in dict.fromkeys(hits) if n not in alias_of]
        names = [a for a in ALIASES if a in short] + others[:MAX_ROWS]
    return [_row(name) for name in names]


def _row(name: str) -> BackboneRow:
    from transferkit.zoo.factory import meta_model
    from transferkit.zoo.weights.resolve import provenance

    bn = parse_backbone_name(name)
    where, licence = local_weights(bn)
    if licence is None:
        licence = provenance(bn)[0] if (bn.source == "tv" or bn.tag) else "-"
    params = meta_model(bn).backbone_parameters()
    return BackboneRow(name, bn.canonical, bn.source, params, where, licence, where != "no")


def local_weights(bn: BackboneName) -> tuple[str, str | None]:
    """(where pretrained weights are available offline or "no", their licence when known)."""
    entry = store.find(bn.canonical)
    if entry is not None:
        return "store", entry.licence
    builtin = BUILTIN_WEIGHTS.get(bn.canonical)
    if builtin is not None and builtin.path() is not None:
        return "built-in", builtin.licence
    for c in cache_candidates(bn):
        if c.found is not None:
            return c.label, None
    return "no", None

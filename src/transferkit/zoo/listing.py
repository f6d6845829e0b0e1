"""``list_backbones``: the zoo as rows (name, source, parameters, local weights, licence).

Parameter counts come from the architecture built on the meta device (no memory, no weights),
counted as ``create_backbone`` returns it: without the pretraining classifier. The short names'
rows come from :mod:`.shortlist`'s table instead (no model built, no torch imported), which
:func:`alias_facts` recomputes from the libraries for the test that keeps the table true.
"""

from __future__ import annotations

import fnmatch

from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.backbone import BackboneName
from transferkit.zoo.names import parse_backbone_name
from transferkit.zoo.shortlist import AliasFacts, BackboneRow, alias_rows
from transferkit.zoo.sources import SOURCES, cache_candidates
from transferkit.zoo.weights import store
from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS

# A pattern that matches more than this many full names lists only the first ones.
MAX_ROWS = 60


def list_backbones(pattern: str | None = None) -> list[BackboneRow]:
    """Rows for the alias table, or for every name matching ``pattern``.

    ``pattern`` is a shell-style glob, case-insensitive (a plain word matches as a substring);
    it is matched against the short names and against full names (``timm:NAME``). At most
    :data:`MAX_ROWS` full names are listed.
    """
    if not pattern:
        return alias_rows()
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
    for c in cache_candidates(bn):
        if c.found is not None:
            return c.label, None
    return "no", None


def alias_facts(alias: str) -> AliasFacts:
    """The facts of a short name as the libraries give them now (what the table must hold)."""
    bn = parse_backbone_name(alias)
    source = SOURCES.get(bn.source)
    published = source.provenance(bn)
    builtin = BUILTIN_WEIGHTS.get(bn.canonical)
    return AliasFacts(
        canonical=bn.canonical,
        source=bn.source,
        parameters=source.meta_model(bn).backbone_parameters(),
        licence=published[0] if published else "-",
        builtin=(builtin.package, builtin.filename, builtin.licence) if builtin else None,
        caches=tuple(source.cache_refs(bn)),
    )

"""Backbone names: ``<source>:NAME`` (``timm:NAME[.TAG]``, ``tv:NAME``) or an alias, resolved to
one canonical form.

Each source in :data:`transferkit.zoo.sources.SOURCES` parses the part after its prefix. The
canonical name of a timm model carries its pretrained tag (the default one when none is given),
because the tag decides which weights and preprocessing apply: ``resnet50`` in timm means
``resnet50.a1_in1k``. Models timm has no weights for keep their bare name.
"""

from __future__ import annotations

from transferkit.core.errors import BackboneNotFoundError, did_you_mean
from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.backbone import BackboneName
from transferkit.zoo.sources import SOURCES


def name_hint() -> str:
    """The hint of every unknown-name error: where the short names are, how full names read."""
    sources = [s for _, s in SOURCES.items()]
    return (
        "run `transferkit zoo list` for the short names; any "
        + " or ".join(s.library for s in sources)
        + " model works as "
        + " or ".join(f"{s.prefix}:NAME" for s in sources)
    )


def parse_backbone_name(name: str) -> BackboneName:
    """Resolve ``name`` and return its parts; raises :class:`BackboneNotFoundError`."""
    raw = str(name).strip()
    prefix, sep, rest = raw.partition(":")
    if sep:
        if prefix not in SOURCES:
            raise BackboneNotFoundError(
                f"unknown backbone source {prefix!r} in {raw!r}; valid sources: "
                f"{', '.join(SOURCES.names())}." + did_you_mean(prefix, SOURCES.names()),
                name_hint(),
            )
        try:
            return SOURCES.get(prefix).parse(rest, raw)
        except BackboneNotFoundError as e:  # the source says what is wrong, we say where to look
            raise BackboneNotFoundError(e.message, name_hint()) from None
    alias = ALIASES.get(raw.lower())
    if alias is not None:
        return parse_backbone_name(alias)
    full = [f"{p}:{n}" for p, source in SOURCES.items() for n in source.names()]
    also = [f for f in full if f.partition(":")[2] == raw]
    if also:
        where = " and ".join(f"'{a}'" for a in also)
        msg = f"{raw!r} is not a short name, but it exists as {where}; use that full name."
    else:
        msg = f"unknown backbone {raw!r}." + did_you_mean(raw, list(ALIASES) + full)
    raise BackboneNotFoundError(msg, name_hint())


def resolve_backbone_name(name: str) -> str:
    """Canonical ``<source>:NAME`` for ``name`` (an alias or a full name)."""
    return parse_backbone_name(name).canonical

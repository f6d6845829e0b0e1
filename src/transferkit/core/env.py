"""Every environment variable transferkit reads, one function each, read at call time.

One root governs everything the tool keeps: ``home()`` (``$TRANSFERKIT_HOME``, else
``$XDG_CACHE_HOME/transferkit``, else ``~/.cache/transferkit``). The weight store and the feature
cache are folders inside it; the feature cache alone may be moved elsewhere with
``$TRANSFERKIT_CACHE_DIR`` (it can grow large, so it may want another disk). Nothing reads
``os.environ`` outside this module, so "where does transferkit put things" has one answer.
"""

from __future__ import annotations

import os
from pathlib import Path

from transferkit.core.errors import ConfigError

HOME_VAR = "TRANSFERKIT_HOME"
CACHE_DIR_VAR = "TRANSFERKIT_CACHE_DIR"
ALLOW_DOWNLOAD_VAR = "TRANSFERKIT_ALLOW_DOWNLOAD"
_TRUE = ("1", "true", "yes", "on")


def _get(name: str) -> str | None:
    """The variable's value, with an empty string read as unset (``FOO= cmd`` clears it)."""
    value = os.environ.get(name, "").strip()
    return value or None


def _user_cache() -> Path:
    """``$XDG_CACHE_HOME`` or ``~/.cache``: where well-behaved tools keep caches."""
    xdg = _get("XDG_CACHE_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


def home() -> Path:
    """transferkit's own folder: ``$TRANSFERKIT_HOME``, else ``<user cache>/transferkit``."""
    env = _get(HOME_VAR)
    return Path(env).expanduser() if env else _user_cache() / "transferkit"


def weights_dir() -> Path:
    """The weight store: ``home()/weights``."""
    return home() / "weights"


def cache_dir() -> Path:
    """The feature cache: ``$TRANSFERKIT_CACHE_DIR`` when set, else ``home()/features``."""
    env = _get(CACHE_DIR_VAR)
    return Path(env).expanduser() if env else home() / "features"


def verified_dir() -> Path:
    """What image verification remembers (file, size, mtime -> image size): ``home()/verified``."""
    return home() / "verified"


def downloads_allowed() -> bool:
    """Whether weights may be downloaded: ``$TRANSFERKIT_ALLOW_DOWNLOAD`` is 1/true/yes/on."""
    return (_get(ALLOW_DOWNLOAD_VAR) or "").lower() in _TRUE


def torch_home() -> Path:
    """PyTorch's hub folder root, by torch's own rule: ``$TORCH_HOME`` or ``<user cache>/torch``."""
    env = _get("TORCH_HOME")
    return Path(env).expanduser() if env else _user_cache() / "torch"


def hf_hub_cache() -> Path | None:
    """The Hugging Face hub cache named by ``$HF_HUB_CACHE`` or ``$HF_HOME/hub``, else None.

    None means "the library's default": huggingface_hub reads its variables once at import, so the
    caller asks it only when the environment says nothing now.
    """
    if _get("HF_HUB_CACHE"):
        return Path(_get("HF_HUB_CACHE")).expanduser()
    if _get("HF_HOME"):
        return Path(_get("HF_HOME")).expanduser() / "hub"
    return None


def global_rank() -> int:
    """This process's rank under a distributed launcher (``$RANK``, else ``$LOCAL_RANK``), or 0.

    torchrun sets both; Lightning's own single-node launcher sets only ``LOCAL_RANK``.
    """
    for name in ("RANK", "LOCAL_RANK"):
        value = _get(name)
        if value is None:
            continue
        try:
            return int(value)
        except ValueError:
            raise ConfigError(
                f"environment variable {name}={value!r} is not an integer",
                hint=f"unset {name} or set it to the process rank (0, 1, ...)",
            ) from None
    return 0

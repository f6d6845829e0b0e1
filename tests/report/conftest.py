"""A classification run trained once for the report tests (tiny backbone, a few seconds)."""

from __future__ import annotations

import pytest

from tests.engine.conftest import make_image_folder
from tests.tiny import TinyBackbone


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``(run_dir, data_dir, printed)`` of a 3-epoch run that still gets images wrong."""
    import transferkit.engine.loop as loop
    import transferkit.zoo as zoo
    from transferkit.core.config import RunConfig

    root = tmp_path_factory.mktemp("report_run")
    data = make_image_folder(root / "data", per_class=10)
    cfg = RunConfig().with_values(
        path=str(data),
        backbone="tiny",
        weights="none",
        epochs=3,
        batch_size=8,
        lr=1e-4,
        patience=None,
        quiet=True,
        img_size=32,
        strategy="gradual",
        warmup_epochs=0.5,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "create_backbone", lambda name, weights="auto", **kw: TinyBackbone())
        result = loop.fit(cfg, root / "run")
    return result.run_dir, data


@pytest.fixture(autouse=True)
def tiny_backbone_by_name(monkeypatch):
    """``create_backbone("tiny")`` builds the tiny test backbone; other names are real."""
    import transferkit.zoo as zoo

    real = zoo.create_backbone

    def create(name, weights="auto", **kwargs):
        return TinyBackbone() if name == "tiny" else real(name, weights=weights, **kwargs)

    monkeypatch.setattr(zoo, "create_backbone", create)

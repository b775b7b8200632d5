"""Dense encoders behind one Protocol; one adapter module per provider."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import Settings


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


_CACHE: dict[tuple[str, str | None, str | None, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    key = (settings.embedder, settings.embed_url, settings.embed_model, settings.e5_query_engine)
    if key in _CACHE:
        return _CACHE[key]
    kind = settings.embedder
    embedder: Embedder
    if kind == "e5":
        from assistant.embeddings.e5 import E5Embedder

        embedder = E5Embedder(settings.e5_query_engine)
    elif kind == "use":
        from assistant.embeddings.use import USEEmbedder

        embedder = USEEmbedder()
    elif kind == "mistral":
        from assistant.embeddings.mistral import MistralEmbedder

        embedder = MistralEmbedder(settings)
    elif kind == "openai":
        from assistant.embeddings.openai_compat import OpenAICompatEmbedder

        embedder = OpenAICompatEmbedder(settings)
    else:
        raise ConfigError(
            f"Unknown embedder {kind!r}: set DALIL_EMBEDDER to one of e5, use, mistral, openai."
        )
    _CACHE[key] = embedder
    return embedder

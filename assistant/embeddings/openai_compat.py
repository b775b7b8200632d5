"""Any OpenAI-compatible /v1/embeddings endpoint (vLLM, llama.cpp, TEI...).

Plain HTTP rather than an SDK: llama.cpp omits the response `id` that SDK models require.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import numpy as np

from assistant.egress import check_url, is_loopback
from assistant.endpoints import openai_endpoint
from assistant.errors import ConfigError, LLMError
from assistant.settings import Settings


class OpenAICompatEmbedder:
    def __init__(self, settings: Settings) -> None:
        if not settings.embed_url:
            raise ConfigError("DALIL_EMBEDDER=openai needs DALIL_EMBED_URL (e.g. http://127.0.0.1:8080).")
        self._url = openai_endpoint(
            check_url(settings.embed_url, "DALIL_EMBED_URL", settings.allowed_hosts), "embeddings"
        )
        key = settings.mistral_api_key.get_secret_value() if settings.mistral_api_key else "none"
        self._headers = {"Authorization": f"Bearer {key}"}
        self.name = settings.embed_model or "default"
        self.remote = not is_loopback(urlsplit(self._url).hostname or "")
        self.dim = int(self.embed_documents(["dim"]).shape[1])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        try:
            resp = httpx.post(
                self._url, json={"model": self.name, "input": texts}, headers=self._headers, timeout=120
            )
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise LLMError(f"Embedding request to {self._url} failed: {exc}") from exc
        data = sorted(resp.json()["data"], key=lambda d: d.get("index", 0))
        return np.asarray([d["embedding"] for d in data], dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

